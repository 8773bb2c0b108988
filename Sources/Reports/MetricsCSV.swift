import Foundation

/// metrics.csv beside metrics.jsonl, for spreadsheets and plotting tools: a fixed header chosen when the run
/// starts (so columns never move when a key first appears mid-run, e.g. test accuracy at the first
/// evaluation), one row appended per record, an empty cell where a record lacks a column.
public final class MetricsCSV {
    public let url: URL
    public let columns: [String]
    private let handle: FileHandle

    /// Creates the file (replacing an earlier one) with its header.
    public init(url: URL, columns: [String]) throws {
        self.url = url
        self.columns = columns
        guard FileManager.default.createFile(atPath: url.path, contents: Data((columns.map(Self.cell).joined(separator: ",") + "\n").utf8)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends a row: each column's text (labels) or number (values); anything else an empty cell.
    public func append(_ fields: [String: Any]) throws {
        let row = columns.map { column -> String in
            switch fields[column] {
            case let text as String: return Self.cell(text)
            case let number as Double: return number.isFinite ? MetricsRecord.numberText(number) : ""
            case let number as NSNumber: return number.doubleValue.isFinite ? MetricsRecord.numberText(number.doubleValue) : ""
            default: return ""
            }
        }
        try handle.write(contentsOf: Data((row.joined(separator: ",") + "\n").utf8))
    }

    /// RFC 4180 quoting when a cell holds a comma, quote or line break.
    static func cell(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
