import Foundation
import XCTest
@testable import Reports

/// `l3rs report`: any runs' curves on one page.
final class RunComparisonTests: XCTestCase {
    func run(_ name: String, accuracies: [Double], wallStart: Double) -> RunComparison.Run {
        RunComparison.Run(name: name, records: accuracies.enumerated().map { index, accuracy in
            var record: [String: Any] = ["step": NSNumber(value: index + 1), "loss": NSNumber(value: 1 - accuracy),
                                         "wall_time": NSNumber(value: wallStart + Double(index) * 30), "time": "t"]
            if index % 2 == 1 { record["test_accuracy"] = NSNumber(value: accuracy) }
            return record
        })
    }

    func testOnePlotPerMetricWithALinePerRun() throws {
        let comparison = RunComparison(runs: [run("adam", accuracies: [0.5, 0.6, 0.7, 0.8], wallStart: 100),
                                              run("l3rs", accuracies: [0.6, 0.8, 0.9], wallStart: 0)])
        XCTAssertEqual(comparison.plottedMetrics, ["test_accuracy", "loss"], "usual metrics first; time stamps are not curves")
        let document = comparison.document()
        XCTAssertEqual(document.plots.map(\.file), ["0-test_accuracy.svg", "1-loss.svg"])
        guard case let .table(table) = document.blocks[0] else { return XCTFail("the summary table comes first") }
        XCTAssertEqual(table.header, ["run", "records", "last step", "wall time", "last test_accuracy", "last loss"])
        XCTAssertEqual(table.rows[0], ["adam", "4", "4", "1m30s", "0.8", "0.2"])
        XCTAssertEqual(table.rows[1], ["l3rs", "3", "3", "1m00s", "0.8", "0.1"], "the last logged test accuracy (step 2)")
        let html = document.html()
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 2)
        XCTAssertTrue(html.contains(">adam<") && html.contains(">l3rs<"), "legend names the runs")
        XCTAssertEqual(RunComparison(runs: comparison.runs, metrics: ["loss"]).document().plots.count, 1)
    }

    func testMetaTrainingRunsUseTheMetaStepAndBadPathsAreNamed() throws {
        let meta = RunComparison.Run(name: "meta", records: [["meta_step": NSNumber(value: 1), "meta_loss": NSNumber(value: 2.0)]])
        XCTAssertEqual(RunComparison(runs: [meta]).plottedMetrics, ["meta_loss"])
        XCTAssertTrue(RunComparison(runs: [meta]).document().html().contains("meta_step"))
        XCTAssertThrowsError(try RunComparison.Run(path: "/nonexistent/run")) { XCTAssertTrue("\($0)".contains("/nonexistent/run")) }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-empty-run-\(UUID())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try RunComparison.Run(path: empty.path)) { XCTAssertTrue("\($0)".contains("holds no metrics.jsonl")) }
    }
}
