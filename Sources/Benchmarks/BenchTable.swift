/// A plain-text table with a title, right-aligned columns and a rule under the header: what `l3rs bench`
/// prints, readable in a terminal and pasteable into Markdown.
public struct BenchTable {
    public let title: String
    public let header: [String]
    public private(set) var rows: [[String]] = []

    public init(title: String, header: [String]) {
        self.title = title
        self.header = header
    }

    public mutating func add(_ row: [String]) {
        precondition(row.count == header.count, "row has \(row.count) cells, header \(header.count)")
        rows.append(row)
    }

    /// The table as Markdown-compatible text (pipes between cells).
    public func render() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { i, cell in
                String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: " | ") + " |"
        }
        var text = "\n### \(title)\n\n" + line(header) + "\n"
        text += "|" + widths.map { String(repeating: "-", count: $0 + 1) + ":" }.joined(separator: "|") + "|\n"
        for row in rows { text += line(row) + "\n" }
        return text
    }
}

/// Number formatting for the tables.
public enum Format {
    public static func fixed(_ value: Double, _ digits: Int = 2) -> String {
        guard value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded() / scale
        let sign = value < 0 && rounded != 0 ? "-" : ""
        let whole = Int(rounded)
        let fraction = Int(((rounded - Double(whole)) * scale).rounded())
        if digits == 0 { return sign + String(whole) }
        let fractionText = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }

    public static func milliseconds(_ seconds: Double) -> String { fixed(seconds * 1e3, 2) }
    public static func ratio(_ value: Double) -> String { fixed(value, 2) + "×" }
    public static func percent(_ value: Double) -> String { fixed(value * 100, 1) + "%" }
    public static func mebibytes(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 1) }
}
