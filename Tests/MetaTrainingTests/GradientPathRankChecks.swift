import Datasets
import Distributed
import MetaTraining
import Network
import TestSupport
import Training
import XCTest

/// Fine-tuning and meta-training compute a gradient through the same path (`ShardedObjective`): on the same
/// batch and parameters, `ModelInnerProblem`'s training gradient and loss are bitwise those of
/// `DataParallelTrainer`. `swift test` runs these on one rank; `MultiRankMetaTrainingTests` re-runs the class
/// under `mpirun -np 2`, where the shards, the bucketed mean and SyncBatchNorm's reductions are real.
final class GradientPathRankChecks: XCTestCase {
    override class func tearDown() {
        ProcessCommunicator.finish()
        super.tearDown()
    }

    /// A small ResNet (BatchNorm in every block) for the 8×8 synthetic images.
    static func batchNormModel() -> Model {
        ModelZoo.resnet(inputShape: [1, 8, 8], blocksPerStage: [1], baseWidth: 4, classCount: 10, seed: 13)
    }

    /// Returns the inner problem's gradient.
    @discardableResult
    private func compare(_ makeModel: () -> Model, batchNorm: BatchNormMode, problemBatchNorm: BatchNormMode? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        let communicator = try ProcessCommunicator.get()
        let data = try MetaFixtures.syntheticDataset(count: 64, seed: 1)
        var configuration = TrainingConfiguration()
        configuration.globalBatch = 16
        configuration.seed = 21
        configuration.batchNorm = batchNorm
        let trainerModel = makeModel(), problemModel = makeModel()
        let trainer = try DataParallelTrainer(configuration: configuration, communicator: communicator,
                                              model: trainerModel, trainSet: data, testSet: data)
        let problem = try ModelInnerProblem(model: problemModel, communicator: communicator, trainSet: data,
                                            validationSet: data, trainSampler: trainer.sampler,
                                            validationSampler: trainer.sampler, validationReduction: .globalMean,
                                            batchNorm: problemBatchNorm ?? batchNorm)
        let θ = Array(problemModel.parameters.values)
        var gradient = [Float](repeating: .nan, count: θ.count)
        let problemLoss = θ.withUnsafeBufferPointer { parameters in
            gradient.withUnsafeMutableBufferPointer {
                problem.trainingLossAndGradient(parameters: parameters, step: 0, gradient: $0)
            }
        }
        XCTAssertNil(problem.failure, file: file, line: line)
        let share = try trainer.computeGradient()
        let trainerLoss = try communicator.allreduce(share.loss, op: .sum)

        XCTAssertGreaterThan(gradient.map { Double($0 * $0) }.reduce(0, +), 0, file: file, line: line)
        if problemBatchNorm == nil {
            XCTAssertTrue(gradient == Array(trainerModel.parameters.gradients),
                          "inner problem and trainer gradients differ on \(communicator.size) rank(s)", file: file, line: line)
            XCTAssertEqual(problemLoss, Float(trainerLoss), file: file, line: line)
            XCTAssertTrue(Array(problemModel.buffers.values) == Array(trainerModel.buffers.values),
                          "running statistics differ", file: file, line: line)
        } else {
            XCTAssertFalse(gradient == Array(trainerModel.parameters.gradients),
                           "another BatchNorm mode gave the same gradient", file: file, line: line)
        }
        return gradient
    }

    func testInnerProblemGradientIsTheTrainersOnAnMLP() throws {
        try compare(MetaFixtures.model, batchNorm: .local)
    }

    /// With SyncBatchNorm both normalise with the global batch's statistics (on 2 ranks `local` would not).
    func testInnerProblemGradientIsTheTrainersWithSyncBatchNorm() throws {
        try compare(Self.batchNormModel, batchNorm: .sync)
        // The check can fail: on 2 ranks an inner problem with rank-local BatchNorm gets another gradient.
        if try ProcessCommunicator.get().size > 1 {
            try compare(Self.batchNormModel, batchNorm: .sync, problemBatchNorm: .local)
        }
    }

    /// Each rank's `rankShare` gradient (w_r × its shard's) summed over ranks is the `globalMean` gradient.
    func testRankSharesSumToTheGlobalMean() throws {
        let communicator = try ProcessCommunicator.get()
        let data = try MetaFixtures.syntheticDataset(count: 16, seed: 3)
        let sampler = try GlobalBatchSampler(sampleCount: 16, globalBatchSize: 16, seed: 5)
        let indices = sampler.localBatch(epoch: 0, step: 0, rank: communicator.rank, worldSize: communicator.size)
        let weight = sampler.sliceWeight(rank: communicator.rank, worldSize: communicator.size)
        let model = MetaFixtures.model()
        let objective = ShardedObjective(model: model, communicator: communicator, bucketElements: 1024)
        let (input, labels) = objective.shardBatch(data, indices: indices)
        try objective.lossAndGradient(input: input, labels: labels, weight: weight, reduction: .globalMean)
        let mean = Array(model.parameters.gradients)
        try objective.lossAndGradient(input: input, labels: labels, weight: weight, reduction: .rankShare)
        var summed = Array(model.parameters.gradients)
        try communicator.allreduce(&summed, op: .sum)
        XCTAssertLessThan(MetaFixtures.relativeDifference(summed, mean), 1e-6)
        XCTAssertGreaterThan(mean.map { abs($0) }.max() ?? 0, 0)
    }
}
