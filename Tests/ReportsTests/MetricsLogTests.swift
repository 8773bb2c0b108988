import XCTest
@testable import Reports

final class MetricsLogTests: XCTestCase {
    func testRecordsAreValidJSONWithNullForNonFinite() throws {
        let record = MetricsRecord([("step", 3), ("loss", 0.25), ("bad", .nan), ("none", nil)], labels: [("phase", "train \"a\"")])
        XCTAssertEqual(record.jsonLine, #"{"phase":"train \"a\"","step":3,"loss":0.25,"bad":null,"none":null}"#)
        let object = try JSONSerialization.jsonObject(with: Data(record.jsonLine.utf8)) as? [String: Any]
        XCTAssertEqual(object?["step"] as? Int, 3)
    }

    func testAppendReadAndTruncateForResume() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            let log = try MetricsLog(url: url)
            for step in 1...5 { try log.append(MetricsRecord([("step", Double(step)), ("loss", 1 / Double(step))])) }
        }
        try MetricsLog.truncate(url: url, key: "step", above: 3)
        let reopened = try MetricsLog(url: url)
        try reopened.append(MetricsRecord([("step", 4), ("loss", 9)]))
        let records = try MetricsLog.read(url: url)
        XCTAssertEqual(records.compactMap { $0["step"] as? Int }, [1, 2, 3, 4])
        XCTAssertEqual(records.last?["loss"] as? Int, 9)
    }

    func testProgressLineAndDurations() {
        let reporter = ProgressReporter(total: 100, label: "finetune", interactive: false, plainInterval: 1000)
        let line = reporter.line(step: 10, values: [("loss", "0.500")], imagesPerSecond: 1234)
        XCTAssertTrue(line.hasPrefix("finetune 10/100  loss 0.500  1234 img/s  ETA "), line)
        XCTAssertEqual(ProgressReporter.duration(3725), "1h02m")
        XCTAssertEqual(ProgressReporter.duration(185), "3m05s")
        XCTAssertEqual(ProgressReporter.duration(12), "12s")
        XCTAssertEqual(ProgressReporter.duration(.infinity), "?")
    }
}
