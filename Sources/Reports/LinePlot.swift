import Foundation

/// A line chart rendered as a self-contained SVG document: several named series over a shared x axis, axis
/// ticks at round numbers, a legend, optional log scale on y, and an optional shaded band per series (a 95%
/// interval over seeds around a mean curve). Reports embed these inline in HTML and link them
/// from Markdown, so the plots need no plotting library and no network.
public struct LinePlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Dashed lines tell baselines from learned optimizers at a glance.
        public var dashed: Bool
        /// A shaded region from `low` to `high` at each x, drawn under the line in its colour (empty: none).
        public var band: [(x: Double, low: Double, high: Double)]
        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false,
                    band: [(x: Double, low: Double, high: Double)] = []) {
            self.name = name
            self.points = points
            self.dashed = dashed
            self.band = band
        }

        /// The band's finite corners, as points, so the axes cover them.
        var bandPoints: [(x: Double, y: Double)] { band.flatMap { [($0.x, $0.low), ($0.x, $0.high)] } }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var logY: Bool
    public var width: Double = 640
    public var height: Double = 360

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
    }

    /// A colour-blind-safe palette (Okabe & Ito).
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// The SVG document.
    public func svg() -> String {
        let finite = series.flatMap { $0.points + $0.bandPoints }.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        // Margins sized to the longest tick label and series name, so nothing is clipped; the canvas widens
        // rather than squeezing the plot area below 320 px.
        let yTicks = finite.isEmpty ? [] : Self.yTicks(finite.map(\.y).min()!, finite.map(\.y).max()!, log: logY)
        let left = max(56.0, Self.textWidth(yTicks.map { Self.label($0) }.max { $0.count < $1.count } ?? "") + 30)
        let right = 44.0 + Self.textWidth(series.map(\.name).max { $0.count < $1.count } ?? "")
        let top = 34.0, bottom = 48.0
        // Wide enough for the title (13 px: about 7.5 px per character) as well.
        let width = max(self.width, left + right + 320, 7.5 * Double(title.count) + 40)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
            + "viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(fmt(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">\(xmlEscape(title))</text>\n"
        guard let minX = finite.map(\.x).min(), let maxX = finite.map(\.x).max(),
              let rawMinY = finite.map(\.y).min(), let rawMaxY = finite.map(\.y).max() else {
            out += svgText("no data", x: width / 2, y: height / 2, anchor: "middle") + "</svg>\n"
            return out
        }
        let transform: (Double) -> Double = logY ? { log10($0) } : { $0 }
        // The axis spans the data and its outermost ticks.
        var lowY = transform(min(rawMinY, yTicks.first ?? rawMinY)), highY = transform(max(rawMaxY, yTicks.last ?? rawMaxY))
        if highY - lowY < 1e-12 { lowY -= 0.5; highY += 0.5 }
        let spanX = maxX - minX > 0 ? maxX - minX : 1
        func px(_ x: Double) -> Double { left + (x - minX) / spanX * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (transform(y) - lowY) / (highY - lowY) * plotHeight }

        // Axes, grid and ticks.
        out += "<g stroke=\"#ccc\" stroke-width=\"1\">\n"
        let xTicks = Self.ticks(minX, maxX)
        out += xTicks.map { svgLine(px($0), top, px($0), top + plotHeight) }.joined()
        out += yTicks.map { svgLine(left, py($0), left + plotWidth, py($0)) }.joined()
        out += "</g>\n"
        out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += xTicks.map { svgText(Self.label($0), x: px($0), y: top + plotHeight + 14, anchor: "middle") }.joined()
        out += yTicks.map { svgText(Self.label($0), x: left - 6, y: py($0) + 4, anchor: "end") }.joined()
        out += svgText(xmlEscape(xLabel), x: left + plotWidth / 2, y: height - 10, anchor: "middle")
        out += "<text transform=\"translate(14 \(fmt(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(yLabel + (logY ? " (log)" : "")))</text>\n"

        // Bands first, so every line stays visible on top of them.
        for (index, line) in series.enumerated() {
            let band = line.band.filter { $0.x.isFinite && $0.low.isFinite && $0.high.isFinite && (!logY || $0.low > 0) }
            guard band.count > 1 else { continue }
            let outline = band.map { "\(fmt(px($0.x))),\(fmt(py($0.high)))" } + band.reversed().map { "\(fmt(px($0.x))),\(fmt(py($0.low)))" }
            out += "<polygon fill=\"\(Self.palette[index % Self.palette.count])\" fill-opacity=\"0.18\" stroke=\"none\" points=\"\(outline.joined(separator: " "))\"/>\n"
        }
        // Series and legend.
        for (index, line) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = line.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
            if !points.isEmpty {
                let path = points.map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.6\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(path)\"/>\n"
            }
            let legendY = top + 8 + Double(index) * 16
            out += svgLine(left + plotWidth + 10, legendY, left + plotWidth + 30, legendY,
                           attributes: " stroke=\"\(colour)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")")
            out += svgText(xmlEscape(line.name), x: left + plotWidth + 34, y: legendY + 4)
        }
        out += "</svg>\n"
        return out
    }

    /// About five round tick positions covering [low, high].
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        guard high > low else { return [low] }
        let rough = (high - low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var values: [Double] = []
        var value = ceil(low / step) * step
        while value <= high + step * 1e-9 {
            values.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return values
    }

    /// Y ticks in data units. Linear: `ticks`. Log: 1-2-5 in each decade, every decade's power of ten when the
    /// range spans more than three, and linear round values when it spans less than a factor of 5 (λ over a
    /// fine-tune moves by less than that, and log-spaced ticks would be odd numbers like 0.00316228).
    static func yTicks(_ low: Double, _ high: Double, log: Bool) -> [Double] {
        guard log else { return ticks(low, high) }
        guard low > 0, high > low else { return [low] }
        if high / low < 5 { return ticks(low, high).filter { $0 > 0 } }
        let decades = Int(floor(log10(low)))...Int(ceil(log10(high)))
        let mantissas: [Double] = decades.count > 4 ? [1] : [1, 2, 5]
        let stride = max(1, decades.count / 6)
        var values: [Double] = []
        for (index, decade) in decades.enumerated() where index % stride == 0 {
            for m in mantissas { values.append(m * pow(10, Double(decade))) }
        }
        // Keep the ticks inside the range plus the nearest one on each side, so the axis frames the data.
        let below = values.last { $0 <= low }, above = values.first { $0 >= high }
        return values.filter { ($0 > low && $0 < high) || $0 == below || $0 == above }
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int64(value)) }
        if abs(value) >= 1e-4 && abs(value) < 1e6 { return String(format: "%.4g", value) }
        return String(format: "%.2g", value)
    }

    /// Approximate rendered width of `text` at font-size 11 sans-serif (about 6.5 px per character).
    static func textWidth(_ text: String) -> Double { 6.5 * Double(text.count) }

    private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    /// An SVG `<line>` from (x1, y1) to (x2, y2); `attributes` (each with a leading space) style it.
    private func svgLine(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, attributes: String = "") -> String {
        "<line x1=\"\(fmt(x1))\" y1=\"\(fmt(y1))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y2))\"\(attributes)/>\n"
    }

    /// An SVG `<text>` at (x, y) holding `content` (already escaped), anchored at `anchor` when one is given.
    private func svgText(_ content: String, x: Double, y: Double, anchor: String? = nil) -> String {
        "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\"\(anchor.map { " text-anchor=\"\($0)\"" } ?? "")>\(content)</text>\n"
    }
}
