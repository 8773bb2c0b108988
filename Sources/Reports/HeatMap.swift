import Foundation

/// A grid of numbers as coloured cells, rendered as a self-contained SVG document: rows and columns with labels,
/// each cell's value written in it, darker for higher values, and marked cells outlined. A tuning grid (baselines
/// by learning rate, held-out accuracy in the cells) reads at a glance this way, where a long table does not.
public struct HeatMap: Sendable {
    public var title: String
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// Axis captions under the columns and beside the rows.
    public var columnCaption: String
    public var rowCaption: String
    /// values[row][column]; nil for a cell that was not run (drawn blank).
    public var values: [[Double?]]
    /// Cells drawn with a heavy outline (the chosen learning rate of each row).
    public var marked: Set<[Int]>
    /// Text in a cell from its value.
    public var format: @Sendable (Double) -> String
    /// Colours scaled within each row (darkest: the row's best) rather than over the whole grid: rows on different
    /// scales (tuning runs of different lengths) each show where their optimum lies.
    public var colourPerRow = false

    public init(title: String, rowLabels: [String], columnLabels: [String], rowCaption: String, columnCaption: String,
                values: [[Double?]], marked: Set<[Int]> = [], format: @escaping @Sendable (Double) -> String = { String(format: "%.3g", $0) }) {
        self.title = title
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.rowCaption = rowCaption
        self.columnCaption = columnCaption
        self.values = values
        self.marked = marked
        self.format = format
    }

    /// The cell colour of a value at `fraction` (0: lowest, 1: highest) of the grid's range: white to dark blue.
    static func colour(_ fraction: Double) -> String {
        let t = min(max(fraction, 0), 1)
        let (r, g, b) = (247 - t * (247 - 8), 251 - t * (251 - 48), 255 - t * (255 - 107))
        return String(format: "#%02X%02X%02X", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    public func svg() -> String {
        let cellWidth = max(64.0, 7.0 * Double((columnLabels.map(\.count).max() ?? 0) + 2)), cellHeight = 26.0
        let left = 24 + LinePlot.textWidth(rowLabels.max { $0.count < $1.count } ?? "") + 12
        let top = 34.0, bottom = 44.0
        let width = max(left + cellWidth * Double(columnLabels.count) + 20, LinePlot.textWidth(title) + 40)
        let height = top + cellHeight * Double(rowLabels.count) + bottom
        // The range colours are scaled to: the whole grid's, or each row's.
        func range(_ cells: [Double?]) -> (low: Double, high: Double) {
            let finite = cells.compactMap { $0 }.filter(\.isFinite)
            return (finite.min() ?? 0, finite.max() ?? 1)
        }
        let whole = range(values.flatMap { $0 })
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
            + "viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(fmt(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(xmlEscape(title))</text>\n"
        for (row, label) in rowLabels.enumerated() {
            let y = top + cellHeight * Double(row)
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + cellHeight / 2 + 4))\" text-anchor=\"end\">\(xmlEscape(label))</text>\n"
            for column in columnLabels.indices {
                let x = left + cellWidth * Double(column)
                let value = row < values.count && column < values[row].count ? values[row][column] : nil
                guard let value, value.isFinite else {
                    out += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(cellWidth))\" height=\"\(fmt(cellHeight))\" fill=\"#f4f4f4\" stroke=\"white\"/>\n"
                    continue
                }
                let (low, high) = colourPerRow ? range(values[row]) : whole
                let fraction = high > low ? (value - low) / (high - low) : 1
                out += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(cellWidth))\" height=\"\(fmt(cellHeight))\" fill=\"\(Self.colour(fraction))\" stroke=\"white\"/>\n"
                out += "<text x=\"\(fmt(x + cellWidth / 2))\" y=\"\(fmt(y + cellHeight / 2 + 4))\" text-anchor=\"middle\" fill=\"\(fraction > 0.55 ? "white" : "#111")\">\(xmlEscape(format(value)))</text>\n"
            }
        }
        for cell in marked.sorted(by: { $0.lexicographicallyPrecedes($1) }) where cell.count == 2 {
            out += "<rect x=\"\(fmt(left + cellWidth * Double(cell[1]) + 1.5))\" y=\"\(fmt(top + cellHeight * Double(cell[0]) + 1.5))\" "
                + "width=\"\(fmt(cellWidth - 3))\" height=\"\(fmt(cellHeight - 3))\" fill=\"none\" stroke=\"#D55E00\" stroke-width=\"2.5\"/>\n"
        }
        let gridBottom = top + cellHeight * Double(rowLabels.count)
        for (column, label) in columnLabels.enumerated() {
            out += "<text x=\"\(fmt(left + cellWidth * (Double(column) + 0.5)))\" y=\"\(fmt(gridBottom + 14))\" text-anchor=\"middle\">\(xmlEscape(label))</text>\n"
        }
        out += "<text x=\"\(fmt(left + cellWidth * Double(columnLabels.count) / 2))\" y=\"\(fmt(height - 10))\" text-anchor=\"middle\">\(xmlEscape(columnCaption))</text>\n"
        out += "<text transform=\"translate(14 \(fmt(top + cellHeight * Double(rowLabels.count) / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(rowCaption))</text>\n"
        out += "</svg>\n"
        return out
    }

    private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}

extension HeatMap: Figure {}
