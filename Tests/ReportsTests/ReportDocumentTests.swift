import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Reports

/// One report content, two renderings: Markdown links the plots, HTML is one well-formed page with them inline.
final class ReportDocumentTests: XCTestCase {
    func testMarkdownAndHTMLCarryTheSameContent() {
        var document = ReportDocument(title: "Run <A & B>")
        document.heading("Results")
        document.paragraph("L3RS loses on unseen data & says so.")
        document.bullets(["one", "two"])
        document.table(Table(header: ["optimizer", "accuracy"], rows: [["l3rs", "90.00%"], ["adam", "91.00%"]]))
        document.plot("curve.svg", LinePlot(title: "loss", xLabel: "step", yLabel: "loss",
                                            series: [.init(name: "adam", points: [(0, 1), (1, 0.5)])]))
        let markdown = document.markdown(plotFolder: "plots")
        XCTAssertTrue(markdown.hasPrefix("# Run <A & B>\n"))
        XCTAssertTrue(markdown.contains("\n## Results\n"))
        XCTAssertTrue(markdown.contains("| l3rs | 90.00% |"))
        XCTAssertTrue(markdown.contains("![loss](plots/curve.svg)"))
        XCTAssertEqual(document.plots.map(\.file), ["curve.svg"])

        let html = document.html()
        let parser = XMLParser(data: Data(html.utf8))
        XCTAssertTrue(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        XCTAssertTrue(html.contains("Run &lt;A &amp; B&gt;"))
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(html.contains("<td>90.00%</td>"))
        XCTAssertTrue(html.contains("<li>two</li>"))
    }
}
