import Foundation

/// One line of metrics.jsonl: a step and named numeric values. Non-finite values are written as null so
/// every line stays valid JSON.
public struct MetricsRecord: Sendable, Equatable {
    public var values: [(String, Double?)]
    public var labels: [(String, String)]

    public init(_ values: [(String, Double?)] = [], labels: [(String, String)] = []) {
        self.values = values
        self.labels = labels
    }

    public static func == (lhs: MetricsRecord, rhs: MetricsRecord) -> Bool {
        lhs.jsonLine == rhs.jsonLine
    }

    /// The record as one JSON object, keys in insertion order (labels first).
    public var jsonLine: String {
        var parts: [String] = []
        for (key, text) in labels { parts.append("\(jsonString(key)):\(jsonString(text))") }
        for (key, value) in values {
            if let value, value.isFinite {
                let isInteger = value == value.rounded() && abs(value) < 1e15
                parts.append("\(jsonString(key)):\(isInteger ? String(Int64(value)) : String(value))")
            } else {
                parts.append("\(jsonString(key)):null")
            }
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}

/// Appends records to a JSON-lines file; each line is written and flushed whole, so a reader (or a
/// resumed run) never sees half a record. Only rank 0 should own one.
public final class MetricsLog {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating if needed) `url` for appending.
    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func append(_ record: MetricsRecord) throws {
        try handle.write(contentsOf: Data((record.jsonLine + "\n").utf8))
    }

    /// Drops every record whose `key` is above `limit`: a resumed run rewinds the log to its checkpoint so the
    /// steps it repeats are not logged twice.
    public static func truncate(url: URL, key: String, above limit: Double) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let text = try String(contentsOf: url, encoding: .utf8)
        var kept: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let value = (object[key] as? NSNumber)?.doubleValue, value > limit {
                continue
            }
            kept.append(line)
        }
        let output = kept.map { $0 + "\n" }.joined()
        try Data(output.utf8).write(to: url, options: .atomic)
    }

    /// Reads every record of a metrics file as dictionaries (for reports and tests).
    public static func read(url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var records: [[String: Any]] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: url.path,
                    NSLocalizedDescriptionKey: "\(url.path):\(index + 1): not a JSON object"])
            }
            records.append(object)
        }
        return records
    }
}

/// A JSON string literal with the escapes JSON requires.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
