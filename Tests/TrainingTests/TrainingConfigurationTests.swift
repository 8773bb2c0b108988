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

    func testValidationListsEveryProblem() {
        var config = TrainingConfiguration()
        config.steps = 0
        config.head = "maybe"
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
