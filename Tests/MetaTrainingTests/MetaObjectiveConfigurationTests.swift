import LearnedOptimizer
import MetaTraining
import TestSupport
import XCTest

/// The meta-objective keys of the meta-training configuration: defaults are docs/method.md's objective, YAML
/// sets them, and a negative penalty is refused before any work starts.
final class MetaObjectiveConfigurationTests: XCTestCase {
    func testDefaultsAreTheSpecificationsObjective() {
        XCTAssertEqual(MetaTrainingConfiguration().metaObjective, .standard)
    }

    func testYAMLSetsWeightingAndPenalty() throws {
        let configuration = try MetaTrainingConfiguration.load(
            yaml: "weights: w.pth\nmetaLossWeighting: linear\nstepSizePenalty: 0.25\n", source: "test")
        XCTAssertEqual(configuration.metaObjective, MetaObjective(weighting: .linear, stepSizePenalty: 0.25))
        XCTAssertEqual(try MetaTrainingConfiguration.load(yaml: try configuration.yaml(), source: "round trip"),
                       configuration)
    }

    func testNegativePenaltyIsRefused() {
        var configuration = MetaTrainingConfiguration()
        configuration.stepSizePenalty = -1
        XCTAssertThrowsError(try configuration.validate()) { error in
            XCTAssertTrue(String(describing: error).contains("stepSizePenalty"), String(describing: error))
        }
    }

    /// The Fashion-MNIST job uses the measured settings of docs/design.md: horizon = the 500 evaluation steps,
    /// a trainable mix (logit 4) and the step-size penalty.
    func testFashionMNISTJobIsValidAndUsesTheMeasuredSettings() throws {
        let configuration = try MetaTrainingConfiguration.load(
            file: TestPaths.repositoryRoot + "/jobs/configs/meta-train-fmnist.yaml")
        try configuration.validate()
        XCTAssertEqual(configuration.horizon, 500)
        XCTAssertEqual(configuration.initialPreferredLogit, 4)
        XCTAssertEqual(configuration.metaObjective, MetaObjective(weighting: .uniform, stepSizePenalty: 0.1))
    }
}
