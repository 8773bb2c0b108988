import Foundation
import TestSupport
import Training
import XCTest
@testable import Pipeline

/// The pipeline's configuration: the embedded default is the file in jobs/configs/, keys are strict, and the
/// plan derived from the default follows the protocol (method.md §6).
final class PipelineConfigurationTests: XCTestCase {
    func testEmbeddedDefaultIsTheFileInJobsConfigs() throws {
        let file = MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/pipeline-default.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(text.trimmingCharacters(in: .whitespacesAndNewlines),
                       DefaultPipelineConfiguration.yaml.trimmingCharacters(in: .whitespacesAndNewlines),
                       "jobs/configs/pipeline-default.yaml and DefaultPipelineConfiguration.yaml must be the same text")
        XCTAssertEqual(try PipelineConfiguration.load(file: file.path), try DefaultPipelineConfiguration.load())
    }

    func testLargeConfigurationLoadsAndValidates() throws {
        let file = MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/pipeline-large.yaml")
        try PipelineConfiguration.load(file: file.path).validate()
    }

    func testUnknownKeysAreErrorsListingTheValidOnes() {
        XCTAssertThrowsError(try PipelineConfiguration.load(yaml: "horizon: 10\nhorizn: 20\n", source: "x.yaml")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("horizn"), text)
            XCTAssertTrue(text.contains("learningRateGrids"), text)
        }
    }

    func testValidationFindsEveryProblem() {
        var c = PipelineConfiguration()
        c.evalEvery = 7
        c.ablations = ["nonsense"]
        c.learningRateGrids = ["adam": [1e-3]]
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("evalEvery"), text)
            XCTAssertTrue(text.contains("nonsense"), text)
            XCTAssertTrue(text.contains("momentum"), text)
        }
    }

    /// The default plan is the protocol: 2 optimizers × 2 schedules × 2 head multipliers, grids of at least 5
    /// learning rates, the five conditions, L3RS and three ablations; tuning never reads the test split.
    func testDefaultPlanFollowsTheProtocol() throws {
        let configuration = try DefaultPipelineConfiguration.load()
        try configuration.validate()
        let plan = PipelinePlan(configuration)
        XCTAssertEqual(plan.baselines.map(\.label), [
            "adam-constant", "adam-constant-head10", "adam-cosine", "adam-cosine-head10",
            "momentum-constant", "momentum-constant-head10", "momentum-cosine", "momentum-cosine-head10",
        ])
        for grid in configuration.learningRateGrids.values { XCTAssertGreaterThanOrEqual(grid.count, 5) }
        XCTAssertEqual(plan.conditions.map(\.name), ["seen", "unseen", "horizon-2x", "horizon-4x", "another-init"])
        XCTAssertEqual(plan.metaTrainingStages.map(\.label), ["l3rs", "l3rs-lambda-only", "l3rs-mu-only", "l3rs-embedding-free"])
        for (_, _, stage) in plan.tuningStages {
            guard case let .training(t) = stage.kind else { return XCTFail("tuning stage \(stage.id) is not a fine-tune") }
            XCTAssertEqual(t.evaluationSplit, "validation", stage.id)
            XCTAssertEqual(t.validationFraction, configuration.validationFraction)
        }
        let chosen = Dictionary(uniqueKeysWithValues: plan.baselines.map { ($0, 1e-3) })
        let evaluation = plan.evaluationStages(chosen: chosen, best: plan.baselines[2])
        let longHorizon = evaluation.filter { $0.condition.name == "horizon-4x" }.map(\.optimizer)
        XCTAssertEqual(longHorizon, ["l3rs", "adam-cosine"])
        for item in evaluation {
            guard case let .training(t) = item.stage.kind else { return XCTFail("not a fine-tune") }
            XCTAssertEqual(t.evaluationSplit, "test")
            XCTAssertEqual(t.steps, item.condition.steps)
        }
    }

    /// The meta-objective settings reach every meta-training stage; invalid ones are rejected up front.
    func testMetaTrainingSettingsReachEveryStage() throws {
        var c = try PipelineConfiguration.load(yaml: "initialPreferredLogit: 3\nstepSizePenalty: 0.25\nbaseLearningRate: 0.002\n", source: "x.yaml")
        for (label, stage) in PipelinePlan(c).metaTrainingStages {
            guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(label) is not a meta-training stage") }
            XCTAssertEqual(m.initialPreferredLogit, 3, label)
            XCTAssertEqual(m.stepSizePenalty, 0.25, label)
            XCTAssertEqual(m.baseLearningRate, 0.002, label)
        }
        c.stepSizePenalty = -1
        c.baseLearningRate = 0
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("stepSizePenalty"), text)
            XCTAssertTrue(text.contains("baseLearningRate"), text)
        }
    }

    /// A learning rate chosen at the first or last grid point is flagged: the optimum may lie outside.
    func testChoiceAtTheGridEdgeIsFlagged() {
        let plan = PipelinePlan(PipelineConfiguration())
        let (first, second, third) = (plan.baselines[0], plan.baselines[1], plan.baselines[2])
        let tuning = PipelineTuning(grid: [:], learningRates: [:], best: first, gridSizes: [first: 5, second: 5, third: 5],
                                    chosenIndices: [first: 0, second: 2, third: 4])
        XCTAssertTrue(tuning.isAtGridEdge(first))
        XCTAssertFalse(tuning.isAtGridEdge(second))
        XCTAssertTrue(tuning.isAtGridEdge(third))
        XCTAssertFalse(tuning.isAtGridEdge(plan.baselines[3]), "a baseline that was not tuned is not flagged")
    }
}
