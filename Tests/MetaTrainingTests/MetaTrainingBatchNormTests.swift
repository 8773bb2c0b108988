import Distributed
import MetaTraining
import Network
import XCTest

/// Meta-training's `batchNorm` reaches the inner runs' BatchNorm layers (`ModelInnerProblem`).
final class MetaTrainingBatchNormTests: XCTestCase {
    /// The running statistics after one meta-step on a small ResNet, and the meta-loss.
    private func metaStep(batchNorm: BatchNormMode) throws -> (statistics: [Float], before: [Float], metaLoss: Double) {
        var configuration = MetaFixtures.configuration()
        configuration.innerRuns = 1
        configuration.batchNorm = batchNorm
        let model = GradientPathRankChecks.batchNormModel()
        let before = Array(model.buffers.values)
        let trainer = try MetaTrainer(configuration: configuration, communicator: SingleProcessCommunicator(), model: model,
                                      trainSet: try MetaFixtures.syntheticDataset(count: 320, seed: 1),
                                      validationSet: try MetaFixtures.syntheticDataset(count: 96, seed: 2))
        try trainer.startRuns()
        let report = try trainer.metaTrainStep()
        return (Array(model.buffers.values), before, report.metaLoss)
    }

    /// frozen: the inner runs normalise with the backbone's running statistics and leave them as they were;
    /// local (the default) updates them in every inner training step, and the meta-loss differs.
    func testFrozenBatchNormLeavesTheRunningStatisticsOfTheInnerRunsUnchanged() throws {
        XCTAssertEqual(MetaTrainingConfiguration().batchNorm, .local)
        let frozen = try metaStep(batchNorm: .frozen)
        XCTAssertEqual(frozen.statistics, frozen.before, "frozen BatchNorm changed the running statistics")
        let local = try metaStep(batchNorm: .local)
        XCTAssertNotEqual(local.statistics, local.before, "local BatchNorm must update the running statistics")
        XCTAssertTrue(frozen.metaLoss.isFinite && local.metaLoss.isFinite)
        XCTAssertNotEqual(frozen.metaLoss, local.metaLoss, "the BatchNorm mode did not reach the inner runs")
    }

    /// The key reads from YAML and a misspelt value is refused with the one closed-set message.
    func testBatchNormKeyIsAClosedSet() throws {
        XCTAssertEqual(try MetaTrainingConfiguration.load(yaml: "batchNorm: sync\n", source: "m.yaml").batchNorm, .sync)
        XCTAssertThrowsError(try MetaTrainingConfiguration.load(yaml: "batchNorm: frozn\n", source: "m.yaml")) { error in
            XCTAssertEqual(String(describing: error), "m.yaml: batchNorm must be one of sync, local, frozen, got 'frozn' (did you mean 'frozen'?)")
        }
    }
}
