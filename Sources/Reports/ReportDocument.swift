import Foundation

/// A report as a sequence of headings, paragraphs, tables and plots, rendered twice from the same content: as
/// Markdown (plots written as SVG files next to it and linked) and as one self-contained HTML page (plots
/// inline), so the two can never disagree.
public struct ReportDocument: Sendable {
    public enum Block: Sendable {
        case heading(level: Int, text: String)
        case paragraph(String)
        case bullets([String])
        case table(Table)
        /// A plot (a line chart, a heat map); `file` is its name in the plot folder (Markdown links to it).
        case plot(file: String, any Figure)
    }

    public var title: String
    public var blocks: [Block] = []

    public init(title: String) { self.title = title }

    public mutating func heading(_ text: String, level: Int = 2) { blocks.append(.heading(level: level, text: text)) }
    public mutating func paragraph(_ text: String) { blocks.append(.paragraph(text)) }
    public mutating func bullets(_ items: [String]) { blocks.append(.bullets(items)) }
    public mutating func table(_ table: Table) { blocks.append(.table(table)) }
    public mutating func plot(_ file: String, _ plot: some Figure) { blocks.append(.plot(file: file, plot)) }

    /// Markdown, with plots linked as `plotFolder/FILE`.
    public func markdown(plotFolder: String) -> String {
        var out = "# \(title)\n"
        for block in blocks {
            out += "\n"
            switch block {
            case let .heading(level, text): out += String(repeating: "#", count: level) + " \(text)\n"
            case let .paragraph(text): out += text + "\n"
            case let .bullets(items): out += items.map { "- " + $0 + "\n" }.joined()
            case let .table(table): out += table.markdown()
            case let .plot(file, plot): out += "![\(plot.title)](\(plotFolder)/\(file))\n"
            }
        }
        return out
    }

    /// One HTML page with every plot inline: readable offline, from any folder, with nothing beside it.
    public func html() -> String {
        var out = """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="utf-8"/><title>\(xmlEscape(title))</title>
        <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
        table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}
        th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}svg{display:block;margin:1em 0}</style>
        </head><body>
        <h1>\(xmlEscape(title))</h1>

        """
        for block in blocks {
            switch block {
            case let .heading(level, text): out += "<h\(level)>\(xmlEscape(text))</h\(level)>\n"
            case let .paragraph(text): out += "<p>\(xmlEscape(text))</p>\n"
            case let .bullets(items): out += "<ul>\n" + items.map { "<li>\(xmlEscape($0))</li>\n" }.joined() + "</ul>\n"
            case let .table(table): out += table.html()
            case let .plot(_, plot): out += plot.svg()
            }
        }
        return out + "</body></html>\n"
    }

    /// The plots, by file name.
    public var plots: [(file: String, svg: String)] {
        blocks.compactMap { block in
            if case let .plot(file, plot) = block { return (file, plot.svg()) }
            return nil
        }
    }
}
