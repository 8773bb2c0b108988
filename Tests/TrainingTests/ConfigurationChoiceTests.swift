import Choices
import TestSupport
import XCTest
@testable import Training

/// The closed-set keys of a fine-tuning configuration (`ConfigurationChoice`): a misspelt value is refused where
/// the YAML is read, in one message naming the file, the key, the value, the allowed values and the nearest one.
final class ConfigurationChoiceTests: XCTestCase {
    func testMisspeltValuesAreRefusedWhenTheYAMLIsRead() {
        assertMisspeltChoicesRefused([
            ("head", "reinti", "keep, reinit", "reinit"),
            ("onHashMismatch", "rebroadcats", "error, rebroadcast", "rebroadcast"),
            ("evaluationSplit", "validaton", "test, validation", "validation"),
        ], preamble: "steps: 3\n", source: "job.yaml") { _ = try TrainingConfiguration.load(yaml: $0, source: $1) }
    }

    func testAValueFarFromEveryNameGetsNoGuess() {
        XCTAssertThrowsError(try TrainingConfiguration.load(yaml: "head: frozen\n", source: "job.yaml")) { error in
            XCTAssertEqual(String(describing: error), "job.yaml: head must be one of keep, reinit, got 'frozen'")
        }
    }

    /// The YAML spelling is the raw value, both ways.
    func testChoicesRoundTripThroughYAML() throws {
        var configuration = TrainingConfiguration()
        configuration.weights = "w.pth"
        configuration.head = .keep
        configuration.onHashMismatch = .rebroadcast
        configuration.evaluationSplit = .validation
        let yaml = try configuration.yaml()
        for line in ["head: keep", "onHashMismatch: rebroadcast", "evaluationSplit: validation"] {
            XCTAssertTrue(yaml.contains(line), yaml)
        }
        XCTAssertEqual(try TrainingConfiguration.load(yaml: yaml, source: "round trip"), configuration)
        let defaults = try TrainingConfiguration.load(yaml: "", source: "empty")
        XCTAssertEqual(defaults.head, .reinit)
        XCTAssertEqual(defaults.onHashMismatch, .error)
        XCTAssertEqual(defaults.evaluationSplit, .test)
    }

    /// The file is laid over the defaults: a key left out or left empty keeps its default, as before.
    func testMissingAndEmptyKeysKeepTheirDefaults() throws {
        let configuration = try TrainingConfiguration.load(yaml: "steps: 7\nhead:\nevaluationSplit: ~\n", source: "job.yaml")
        var expected = TrainingConfiguration()
        expected.steps = 7
        XCTAssertEqual(configuration, expected)
        XCTAssertEqual(TrainingConfiguration.yamlKeys.count, Set(TrainingConfiguration.yamlKeys).count)
        XCTAssertTrue(["head", "onHashMismatch", "evaluationSplit", "batchNorm", "groupSchedules"].allSatisfy(TrainingConfiguration.yamlKeys.contains))
    }

    /// A flag's value goes through the same check, named by the flag.
    func testParsingAFlagValue() throws {
        XCTAssertEqual(try HeadInitialisation(parsing: "keep", key: "--head"), .keep)
        XCTAssertThrowsError(try EvaluationSplit(parsing: "tset", key: "--evaluation-split")) { error in
            XCTAssertEqual(String(describing: error), "--evaluation-split must be one of test, validation, got 'tset' (did you mean 'test'?)")
        }
    }
}
