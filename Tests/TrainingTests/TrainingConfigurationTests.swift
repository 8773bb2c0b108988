import Optimizers
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

    /// A torchvision ResNet at another input side is a valid model name (jobs/configs/pretrain-resnet18-fmnist.yaml
    /// uses resnet18@32); a side the zoo cannot build is refused like any unknown model.
    func testSizedTorchvisionModelNamesPassTheNameCheck() throws {
        var config = try TrainingConfiguration.load(yaml: "model: resnet18@32\nresize: true\n", source: "sized.yaml")
        XCTAssertEqual(config.namingProblems(), [])
        XCTAssertNoThrow(try config.validate())
        for bad in ["resnet18@16", "resnet18@x", "resnet50@64"] {
            config.model = bad
            XCTAssertEqual(config.namingProblems().count, 1, bad)
            XCTAssertTrue(config.namingProblems().first?.contains("unknown model '\(bad)'") ?? false, bad)
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
        let frozen = try assertTypedKey("batchNorm", value: "frozen", bad: "global", message: "batchNorm must be one of sync, local, frozen, got 'global'")
        XCTAssertEqual(frozen.batchNorm, .frozen)
    }

    /// optimizer and schedule are typed keys: the YAML spellings (l3rs among the optimizers, warmup-cosine) read
    /// and write back, a misspelt value is refused with the one message for closed sets.
    func testOptimizerAndScheduleKeys() throws {
        XCTAssertEqual(TrainingOptimizer.validNames, OptimizerKind.validNames + ["l3rs"], "the base optimizers and l3rs")
        XCTAssertEqual(TrainingOptimizer.l3rs.base, nil)
        XCTAssertEqual(TrainingOptimizer(.rmsprop).base, .rmsprop)
        let l3rs = try assertTypedKey("optimizer", value: "l3rs", bad: "adagrad",
                                      message: "optimizer must be one of sgd, momentum, nesterov, adam, adamw, lion, rmsprop, l3rs, got 'adagrad'")
        XCTAssertEqual(l3rs.optimizer, .l3rs)
        let schedule = try assertTypedKey("schedule", value: "warmup-cosine", bad: "cosin",
                                          message: "schedule must be one of constant, cosine, warmup-cosine, linear, got 'cosin' (did you mean 'cosine'?)")
        XCTAssertEqual(schedule.schedule, .warmupCosine)
    }

    /// optimizerState is a typed key: replicated by default, sharded from YAML (and back), free on resume.
    func testOptimizerStateKey() throws {
        XCTAssertEqual(TrainingConfiguration().optimizerState, .replicated)
        let sharded = try assertTypedKey("optimizerState", value: "sharded", bad: "zero",
                                         message: "optimizerState must be one of replicated, sharded, got 'zero'")
        XCTAssertEqual(sharded.optimizerState, .sharded)
        XCTAssertTrue(TrainingConfiguration.keysFreeOnResume.contains("optimizerState"))
    }

    /// Loads `key: value`, checks it survives a YAML round trip, and that `key: bad` is a one-line error naming
    /// the file and `message`.
    private func assertTypedKey(_ key: String, value: String, bad: String, message: String) throws -> TrainingConfiguration {
        let loaded = try TrainingConfiguration.load(yaml: "\(key): \(value)\n", source: "key.yaml")
        XCTAssertTrue(try loaded.yaml().contains("\(key): \(value)"))
        XCTAssertEqual(try TrainingConfiguration.load(yaml: try loaded.yaml(), source: "round trip"), loaded)
        XCTAssertThrowsError(try TrainingConfiguration.load(yaml: "\(key): \(bad)\n", source: "key.yaml")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("key.yaml") && text.contains(message), text)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)")
        }
        return loaded
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
