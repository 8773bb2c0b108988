import Reports

/// A titled Reports `Table` as `l3rs bench` prints it: right-aligned columns, readable in a terminal and
/// pasteable into Markdown.
public struct BenchTable {
    public let title: String
    public private(set) var table: Table

    public init(title: String, header: [String]) {
        self.title = title
        table = Table(header: header)
    }

    public mutating func add(_ row: [String]) { table.append(row) }

    public func render() -> String { "\n### \(title)\n\n" + table.alignedMarkdown() }
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
