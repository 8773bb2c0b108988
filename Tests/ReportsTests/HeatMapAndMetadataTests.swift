import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Reports

/// The tuning heat map and the run metadata at the top of a report.
final class HeatMapAndMetadataTests: XCTestCase {
    private func heatMap() -> HeatMap {
        HeatMap(title: "Held-out accuracy", rowLabels: ["adam @100", "momentum @100"], columnLabels: ["0.001", "0.01", "0.1"],
                rowCaption: "baseline @ steps", columnCaption: "learning rate",
                values: [[0.70, 0.85, nil], [0.60, 0.75, 0.40]], marked: [[0, 1], [1, 1]]) { String(format: "%.0f%%", 100 * $0) }
    }

    /// A cell per value with the value written in it, a blank cell where nothing ran, and one outline per chosen cell;
    /// well-formed SVG.
    func testHeatMapDrawsEveryCellItsValueAndTheChosenOutlines() throws {
        let svg = heatMap().svg()
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
        for text in ["70%", "85%", "60%", "75%", "40%", "adam @100", "momentum @100", "0.001", "0.1", "learning rate"] {
            XCTAssertTrue(svg.contains(">\(text)</text>"), "no \(text)")
        }
        XCTAssertEqual(svg.components(separatedBy: "fill=\"#f4f4f4\"").count - 1, 1, "one blank cell (not run)")
        XCTAssertEqual(svg.components(separatedBy: "stroke=\"#D55E00\"").count - 1, 2, "one outline per chosen cell")
    }

    /// Higher values are darker: the best cell is the darkest colour, the worst white-ish, and the colours order as
    /// the values do.
    func testHeatMapColoursOrderAsTheValues() {
        let colours = [0.0, 0.25, 0.5, 0.75, 1.0].map(HeatMap.colour)
        let brightness = colours.map { hex -> Int in
            let digits = Array(hex.dropFirst())
            return stride(from: 0, to: 6, by: 2).reduce(0) { $0 + Int(String(digits[$1...$1 + 1]), radix: 16)! }
        }
        XCTAssertEqual(brightness, brightness.sorted(by: >), "\(colours)")
        XCTAssertEqual(colours.first, "#F7FBFF")
        XCTAssertEqual(colours.last, "#08306B")
        let svg = heatMap().svg()
        XCTAssertTrue(svg.contains("fill=\"#08306B\""), "the best value (85%) has the darkest colour")
        XCTAssertTrue(svg.contains("fill=\"#F7FBFF\""), "the worst value (40%) has the lightest colour")
    }

    /// Scaled per row, each row's best cell is the darkest colour, however low it is against the other rows.
    func testColoursPerRowMarkEachRowsBest() {
        var map = heatMap()
        let whole = map.svg()
        map.colourPerRow = true
        let perRow = map.svg()
        XCTAssertEqual(whole.components(separatedBy: "fill=\"#08306B\"").count - 1, 1, "one darkest cell over the whole grid")
        XCTAssertEqual(perRow.components(separatedBy: "fill=\"#08306B\"").count - 1, 2, "the darkest cell of each row")
    }

    /// A heat map is a report figure like a line plot: inline in the HTML, linked from the Markdown.
    func testReportEmbedsTheHeatMapAndListsTheMetadata() throws {
        let metadata = RunMetadata(commit: "0123456789ab-dirty", commandLine: "l3rs pipeline --config 'my run.yaml'", ranks: 4, nodes: 2,
                                   host: "node-1", machine: "16 cores, 64 GiB, Linux",
                                   started: Date(timeIntervalSince1970: 1_800_000_000), finished: Date(timeIntervalSince1970: 1_800_003_725))
        var document = ReportDocument(title: "Report")
        document.bullets(metadata.items { String(format: "%.0f s", $0) }.map { "\($0.label): \($0.value)" })
        document.plot("tuning.svg", heatMap())
        let markdown = document.markdown(plotFolder: "plots")
        XCTAssertTrue(markdown.contains("![Held-out accuracy](plots/tuning.svg)"), markdown)
        for line in ["- Commit: 0123456789ab-dirty", "- Command line: l3rs pipeline --config 'my run.yaml'", "- Ranks: 4 on 2 node(s); rank 0 on node-1",
                     "- Machine (rank 0): 16 cores, 64 GiB, Linux", "- Wall time: 3725 s (this invocation, from 2027-01-15T08:00:00Z)",
                     "- Date: 2027-01-15T09:02:05Z"] {
            XCTAssertTrue(markdown.contains(line + "\n"), "no line \(line)\n\(markdown)")
        }
        let html = document.html()
        XCTAssertTrue(XMLParser(data: Data(html.utf8)).parse())
        XCTAssertTrue(html.contains("<svg") && html.contains("&gt;85%") == false && html.contains(">85%</text>"))
        XCTAssertEqual(metadata.json["wall_seconds"] as? Double, 3725)
        XCTAssertEqual(metadata.json["ranks"] as? Int, 4)
    }

    /// This process's metadata: the commit of the checkout the test binary was built in (as git itself says), and
    /// the command line quoted as a shell needs it.
    func testCurrentMetadataNamesThisCheckoutsCommit() throws {
        let metadata = RunMetadata.current(ranks: 1, nodes: 1, host: "here", started: Date())
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path, "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        try git.run()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        git.waitUntilExit()
        XCTAssertTrue(metadata.commit.hasPrefix(head), "\(metadata.commit) is not HEAD \(head)")
        XCTAssertTrue(metadata.machine.contains("cores"), metadata.machine)
        XCTAssertEqual(RunMetadata.shellQuoted("--config"), "--config")
        XCTAssertEqual(RunMetadata.shellQuoted("my run's.yaml"), "'my run'\\''s.yaml'")
        XCTAssertEqual(RunMetadata.shellQuoted(""), "''")
    }
}
