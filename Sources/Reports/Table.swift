/// A table of a report: a header row and rows of cells, rendered as GitHub Markdown or as HTML. Cells are
/// text already formatted by the caller (numbers read from the run's metrics, never typed in).
public struct Table: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    public mutating func append(_ row: [String]) {
        precondition(row.count == header.count, "row has \(row.count) cells, header \(header.count)")
        rows.append(row)
    }

    /// GitHub-flavoured Markdown; `|` in cells is escaped.
    public func markdown() -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        var lines = [line(header), "|" + header.map { _ in " --- |" }.joined()]
        lines += rows.map(line)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Markdown with every column padded to its widest cell and right-aligned, so it also reads as a plain
    /// text table in a terminal (what `l3rs bench` prints).
    public func alignedMarkdown() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { i, cell in String(repeating: " ", count: widths[i] - cell.count) + cell }
                .joined(separator: " | ") + " |"
        }
        var lines = [line(header), "|" + widths.map { String(repeating: "-", count: $0 + 1) + ":" }.joined(separator: "|") + "|"]
        lines += rows.map(line)
        return lines.joined(separator: "\n") + "\n"
    }

    /// An HTML table element.
    public func html() -> String {
        var out = "<table>\n<thead><tr>" + header.map { "<th>\(xmlEscape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows { out += "<tr>" + row.map { "<td>\(xmlEscape($0))</td>" }.joined() + "</tr>\n" }
        return out + "</tbody>\n</table>\n"
    }
}
