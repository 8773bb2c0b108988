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
                parts.append("\(jsonString(key)):\(Self.numberText(value))")
            } else {
                parts.append("\(jsonString(key)):null")
            }
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A finite number as JSON and CSV write it: whole numbers without a fraction, others in full precision.
    static func numberText(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Labels and values by key (labels as String, values as Double, nil and non-finite left out).
    var fields: [String: Any] {
        var fields: [String: Any] = [:]
        for (key, text) in labels { fields[key] = text }
        for (key, value) in values { if let value, value.isFinite { fields[key] = value } }
        return fields
    }
}

/// Appends records to a JSON-lines file; each line is written and flushed whole, so a reader (or a
/// resumed run) never sees half a record. Only rank 0 should own one.
///
/// Every record is stamped when appended: `time` (ISO 8601 UTC, milliseconds) and `wall_time` (seconds since
/// 1970, as TensorBoard keeps it). With `Exports`, each record also goes to `metrics.csv` and a TensorBoard
/// event file beside the log; both are rebuilt from the log when it is reopened (a resumed run, after
/// `truncate`), so they never hold a step the log does not.
public final class MetricsLog {
    /// Companion files written with every record.
    public struct Exports: Sendable {
        /// Columns of the CSV after `time` and `wall_time`; empty: no CSV.
        public var csvColumns: [String]
        /// Write `events.out.tfevents.NAME` (NAME: the log's file name without extension).
        public var tensorBoard: Bool
        /// The key whose value is a record's step in TensorBoard.
        public var stepKey: String

        public init(csvColumns: [String] = [], tensorBoard: Bool = false, stepKey: String = "step") {
            self.csvColumns = csvColumns
            self.tensorBoard = tensorBoard
            self.stepKey = stepKey
        }
    }

    public let url: URL
    private let handle: FileHandle
    private let exports: Exports
    private let csv: MetricsCSV?
    private let events: TensorBoardEventFile?
    private let clock: @Sendable () -> Date
    private let timeFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }()

    /// Opens (creating if needed) `url` for appending.
    /// - Parameter clock: the time stamped into records (tests fix it).
    public init(url: URL, exports: Exports = Exports(), clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.url = url
        self.exports = exports
        self.clock = clock
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        let earlier = exports.csvColumns.isEmpty && !exports.tensorBoard ? [] : try Self.read(url: url)
        let folder = url.deletingLastPathComponent(), stem = url.deletingPathExtension().lastPathComponent
        csv = exports.csvColumns.isEmpty ? nil
            : try MetricsCSV(url: folder.appendingPathComponent(stem + ".csv"), columns: ["time", "wall_time"] + exports.csvColumns)
        events = exports.tensorBoard
            ? try TensorBoardEventFile(url: folder.appendingPathComponent("events.out.tfevents." + stem),
                                       wallTime: (earlier.first?["wall_time"] as? NSNumber)?.doubleValue ?? clock().timeIntervalSince1970)
            : nil
        for fields in earlier { try export(fields) }
    }

    deinit { try? handle.close() }

    public func append(_ record: MetricsRecord) throws {
        let now = clock()
        var stamped = record
        if !record.labels.contains(where: { $0.0 == "time" }) {
            stamped.labels.insert(("time", timeFormatter.string(from: now)), at: 0)
            stamped.values.insert(("wall_time", (now.timeIntervalSince1970 * 1000).rounded() / 1000), at: 0)
        }
        try handle.write(contentsOf: Data((stamped.jsonLine + "\n").utf8))
        try export(stamped.fields)
    }

    /// Writes one record's fields to the CSV and the event file.
    private func export(_ fields: [String: Any]) throws {
        try csv?.append(fields)
        guard let events else { return }
        let number = { (key: String) in (fields[key] as? NSNumber)?.doubleValue ?? (fields[key] as? Double) }
        guard let step = number(exports.stepKey) else { return }
        let scalars = fields.keys.sorted().filter { $0 != exports.stepKey && $0 != "wall_time" }
            .compactMap { key in number(key).map { (tag: key, value: $0) } }
        try events.append(step: Int64(step), wallTime: number("wall_time") ?? clock().timeIntervalSince1970, scalars: scalars)
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
