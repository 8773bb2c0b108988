import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Reports

final class PlotAndTableTests: XCTestCase {
    /// Parses XML and counts elements by name; fails the test if the document is not well-formed.
    func elementCounts(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Int] {
        final class Counter: NSObject, XMLParserDelegate {
            var counts: [String: Int] = [:]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                counts[name, default: 0] += 1
            }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "not well-formed: \(String(describing: parser.parserError))", file: file, line: line)
        return counter.counts
    }

    func testPlotIsWellFormedSVGWithOneLinePerSeriesAndALegend() {
        let plot = LinePlot(title: "loss <train & test>", xLabel: "step", yLabel: "loss", series: [
            .init(name: "adam", points: (0..<50).map { (Double($0), 2 / Double($0 + 1)) }),
            .init(name: "l3rs \"learned\"", points: (0..<50).map { (Double($0), 1.5 / Double($0 + 1)) }, dashed: true),
            .init(name: "with nan", points: [(0, .nan), (1, 1), (2, .infinity)]),
        ], logY: true)
        let svg = plot.svg()
        let counts = elementCounts(svg)
        XCTAssertEqual(counts["svg"], 1)
        XCTAssertEqual(counts["polyline"], 3)
        XCTAssertTrue(svg.contains("loss &lt;train &amp; test&gt;"))
        XCTAssertTrue(svg.contains("stroke-dasharray"))
    }

    /// A band is one shaded polygon per series that has one, drawn before the lines, and the y axis widens to
    /// cover it (the band reaches 0.2 while the line stays above 0.5).
    func testBandsAreShadedPolygonsUnderTheLinesAndWidenTheAxis() {
        let steps = stride(from: 10.0, through: 100, by: 10)
        let plot = LinePlot(title: "accuracy", xLabel: "step", yLabel: "accuracy", series: [
            .init(name: "adam", points: steps.map { ($0, 0.5 + $0 / 400) }, dashed: true,
                  band: steps.map { ($0, 0.2 + $0 / 400, 0.6 + $0 / 400) }),
            .init(name: "l3rs", points: steps.map { ($0, 0.55 + $0 / 400) }),
        ])
        let svg = plot.svg()
        let counts = elementCounts(svg)
        XCTAssertEqual(counts["polygon"], 1, "only the series with a band gets one")
        XCTAssertEqual(counts["polyline"], 2)
        XCTAssertLessThan(svg.range(of: "<polygon")!.lowerBound, svg.range(of: "<polyline")!.lowerBound, "band under the lines")
        XCTAssertTrue(svg.contains(">0.4<"), "a y tick below the lines: the axis covers the band")
        let plain = LinePlot(title: "accuracy", xLabel: "step", yLabel: "accuracy",
                             series: [.init(name: "l3rs", points: steps.map { ($0, 0.55 + $0 / 400) })]).svg()
        XCTAssertFalse(plain.contains(">0.4<"))
    }

    func testEmptyPlotSaysNoData() {
        let svg = LinePlot(title: "t", xLabel: "x", yLabel: "y", series: []).svg()
        XCTAssertEqual(elementCounts(svg)["polyline"], nil)
        XCTAssertTrue(svg.contains("no data"))
    }

    func testTicksAreRoundAndCoverTheRange() {
        XCTAssertEqual(LinePlot.ticks(0, 500), [0, 100, 200, 300, 400, 500])
        XCTAssertEqual(LinePlot.ticks(0.81, 0.88), [0.82, 0.84, 0.86, 0.88].map { $0 }, accuracy: 1e-12)
    }

    /// Log axes get round values: 1-2-5 per decade over a wide range, linear round values over a narrow one
    /// (λ over a fine-tune), never 10^x at odd exponents such as 0.00316228; the outermost ticks frame the data.
    func testLogTicksAreRoundNumbers() {
        XCTAssertEqual(LinePlot.yTicks(0.0019, 0.0034, log: true), [0.002, 0.0025, 0.003], accuracy: 1e-12)
        XCTAssertEqual(LinePlot.yTicks(0.03, 4, log: true), [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5], accuracy: 1e-12)
        let wide = LinePlot.yTicks(1e-6, 1, log: true)
        XCTAssertEqual(wide.first!, 1e-6, accuracy: 1e-18)
        XCTAssertEqual(wide.last!, 1, accuracy: 1e-12)
        XCTAssertTrue(wide.allSatisfy { abs(log10($0) - log10($0).rounded()) < 1e-9 }, "\(wide)")
        XCTAssertEqual(LinePlot.label(0.0025), "0.0025")
        XCTAssertEqual(LinePlot.label(1.0 / 3), "0.3333")
        XCTAssertEqual(LinePlot.label(2e-6), "2e-06")
    }

    /// Long series names and tick labels widen the margins (and the canvas) instead of being clipped.
    func testMarginsFitTheLongestLegendName() throws {
        let long = String(repeating: "x", count: 60)
        let svg = LinePlot(title: "t", xLabel: "step", yLabel: "y", series: [
            .init(name: long, points: [(0, 1), (1, 2)]),
        ]).svg()
        let width = try XCTUnwrap(svg.firstMatch(of: /width="([0-9.]+)"/).flatMap { Double($0.1) })
        XCTAssertGreaterThanOrEqual(width, 320 + 44 + LinePlot.textWidth(long))
        let legendX = try XCTUnwrap(svg.firstMatch(of: /<text x="([0-9.]+)"[^>]*>x{60}</).flatMap { Double($0.1) })
        XCTAssertLessThanOrEqual(legendX + LinePlot.textWidth(long), width)
    }

    /// Bench tables: columns padded to the widest cell, right-aligned, a valid Markdown alignment row.
    func testAlignedMarkdownPadsColumns() {
        var table = Table(header: ["model", "ms"])
        table.append(["mlp", "1.92"])
        table.append(["resnet-32", "225.60"])
        XCTAssertEqual(table.alignedMarkdown(), """
        |     model |     ms |
        |----------:|-------:|
        |       mlp |   1.92 |
        | resnet-32 | 225.60 |

        """)
    }

    func testTableRendersMarkdownAndHTML() {
        var table = Table(header: ["optimizer", "accuracy"])
        table.append(["adam | tuned", "0.8796"])
        XCTAssertEqual(table.markdown(), "| optimizer | accuracy |\n| --- | --- |\n| adam \\| tuned | 0.8796 |\n")
        let counts = elementCounts(table.html())
        XCTAssertEqual(counts["td"], 2)
        XCTAssertEqual(counts["th"], 2)
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
