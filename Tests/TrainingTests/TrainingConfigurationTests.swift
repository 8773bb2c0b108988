import XCTest
@testable import Training

final class TrainingConfigurationTests: XCTestCase {
    func testYAMLOverridesDefaultsAndRoundTrips() throws {
        let config = try TrainingConfiguration.load(yaml: "steps: 20\nlearningRate: 0.01\nfreeze: ['features.*']\n", source: "test.yaml")
        XCTAssertEqual(config.steps, 20)
        XCTAssertEqual(config.learningRate, 0.01)
        XCTAssertEqual(config.freeze, ["features.*"])
        XCTAssertEqual(config.globalBatch, TrainingConfiguration().globalBatch)
        let again = try TrainingConfiguration.load(yaml: try config.yaml(), source: "round trip")
        XCTAssertEqual(again, config)
    }

    func testUnknownKeysNameTheFileAndTheValidKeys() {
        XCTAssertThrowsError(try TrainingConfiguration.load(yaml: "stepz: 3\n", source: "jobs/x.yaml")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("jobs/x.yaml"), text)
            XCTAssertTrue(text.contains("stepz"), text)
            XCTAssertTrue(text.contains("steps"), text)
        }
    }

    func testWrongTypeNamesTheKey() {
        XCTAssertThrowsError(try TrainingConfiguration.load(yaml: "steps: many\n", source: "a.yaml")) { error in
            XCTAssertTrue(String(describing: error).contains("steps"), String(describing: error))
        }
    }

    /// batchNorm is a typed key: sync by default, frozen/local from YAML (and back), anything else named.
    func testBatchNormModeKey() throws {
        XCTAssertEqual(TrainingConfiguration().batchNorm, .sync)
        let frozen = try TrainingConfiguration.load(yaml: "batchNorm: frozen\n", source: "bn.yaml")
        XCTAssertEqual(frozen.batchNorm, .frozen)
        XCTAssertTrue(try frozen.yaml().contains("batchNorm: frozen"))
        XCTAssertEqual(try TrainingConfiguration.load(yaml: try frozen.yaml(), source: "round trip"), frozen)
        XCTAssertThrowsError(try TrainingConfiguration.load(yaml: "batchNorm: global\n", source: "bn.yaml")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("bn.yaml") && text.contains("batchNorm must be sync, local, frozen, got 'global'"), text)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)")
        }
    }

    func testValidationListsEveryProblem() {
        var config = TrainingConfiguration()
        config.steps = 0
        config.keepCheckpoints = 0
        config.learningRate = -1
        XCTAssertThrowsError(try config.validate()) { error in
            guard case let .invalid(problems) = error as? ConfigurationError else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.count, 3, problems.joined(separator: "\n"))
        }
    }

    func testMissingFileIsAClearError() {
        XCTAssertThrowsError(try TrainingConfiguration.load(file: "/nonexistent/c.yaml")) { error in
            XCTAssertTrue(String(describing: error).contains("/nonexistent/c.yaml"))
        }
    }
}
