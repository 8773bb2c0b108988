import Datasets
import Distributed
import Network
import Training
import XCTest

/// The one gradient path's modes: evaluation mode computes a gradient without touching BatchNorm's running
/// statistics, and evaluating a dataset gives the mean over all of it.
final class ShardedObjectiveTests: XCTestCase {
    private func images(count: Int) throws -> Dataset {
        let values = (0..<(count * 64)).map { Float(($0 * 37) % 101) / 101 - 0.5 }
        return try Dataset(name: "pattern", images: values, labels: (0..<count).map { Int32($0 % 3) }, channels: 1,
                           height: 8, width: 8, classCount: 3, pixelMaximum: 1)
    }

    private func batchNormModel() -> Model {
        ModelZoo.resnet(inputShape: [1, 8, 8], blocksPerStage: [1], baseWidth: 4, classCount: 3, seed: 17)
    }

    func testEvaluationModeLeavesBatchNormStatisticsUntouched() throws {
        let model = batchNormModel()
        let objective = ShardedObjective(model: model, communicator: SingleProcessCommunicator())
        objective.configureBatchNorm(.sync)
        let (input, labels) = objective.shardBatch(try images(count: 12), indices: Array(0..<12))
        let before = Array(model.buffers.values)
        XCTAssertFalse(before.isEmpty)

        let evaluation = try objective.lossAndGradient(input: input, labels: labels, weight: 1, reduction: .globalMean,
                                                       mode: .evaluation)
        XCTAssertTrue(Array(model.buffers.values) == before, "evaluation mode changed the running statistics")
        XCTAssertGreaterThan(model.parameters.gradients.map { abs($0) }.max() ?? 0, 0)
        XCTAssertEqual(evaluation.loss, try objective.loss(input: input, labels: labels, mode: .evaluation).loss)

        let training = try objective.lossAndGradient(input: input, labels: labels, weight: 1, reduction: .globalMean,
                                                     mode: .training)
        XCTAssertFalse(Array(model.buffers.values) == before, "training mode updates the running statistics")
        XCTAssertNotEqual(training.loss, evaluation.loss)
    }

    /// `evaluate` over batches of 5 is the single-batch mean of the whole set.
    func testEvaluateAveragesOverTheWholeDataset() throws {
        let model = batchNormModel()
        let objective = ShardedObjective(model: model, communicator: SingleProcessCommunicator())
        let data = try images(count: 12)
        let batched = try objective.evaluate(data, batchSize: 5)
        let (input, labels) = objective.shardBatch(data, indices: Array(0..<12))
        let whole = try objective.loss(input: input, labels: labels)
        XCTAssertEqual(batched.loss, whole.loss, accuracy: 1e-6)
        XCTAssertEqual(batched.accuracy, whole.accuracy, accuracy: 1e-6)
    }
}
