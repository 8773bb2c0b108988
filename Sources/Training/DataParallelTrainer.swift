import Checkpoints
import Datasets
import Distributed
import Foundation
import Network
import Reports
import Runs

/// What a finished (or stopped) run reports.
public struct TrainingSummary: Sendable, Equatable {
    /// Steps completed (the next run resumes from here).
    public var steps: Int
    public var testLoss: Double?
    public var testAccuracy: Double?
    public var seconds: Double
    /// Hash of the final parameters (identical on every rank).
    public var parameterHash: UInt64
    /// True when a stop signal ended the run early, after a checkpoint.
    public var stoppedBySignal: Bool
}

/// One step's numbers, reduced over ranks.
public struct StepStatistics: Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public var accuracy: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var skipped: Bool
    /// A rank received SIGTERM or SIGINT: every rank stops after this step.
    public var stopRequested: Bool
}

/// The data-parallel fine-tuning loop with a hand-designed or learned optimizer (an `UpdateRule`): the inner loop of the whole system and
/// the baseline every learned optimizer is judged against.
///
/// Every rank holds the whole model. At each step rank r takes its fixed slice of the global batch, computes
/// the gradient of its share of the global mean loss, the gradients are averaged in fixed-order buckets, and
/// every rank applies the same update, so parameters stay bit-identical (checked by hash on a schedule).
public final class DataParallelTrainer {
    public let configuration: TrainingConfiguration
    public let communicator: any Communicator
    public let model: Model
    public let trainSet: Dataset
    public let testSet: Dataset
    /// The optimizer: a hand-designed baseline or a learned L3RS optimizer (`UpdateRules.make`); under sharded
    /// optimizer state, this rank's rule over its own layers (`shardedStep.rule`).
    public let updateRule: any UpdateRule
    /// The update step of `optimizerState: sharded` (nil: replicated).
    public let shardedStep: ShardedUpdateStep?
    public let sampler: GlobalBatchSampler
    /// Steps completed so far.
    public private(set) var step = 0

    /// Forward, loss, backward and the bucketed gradient mean over ranks (with SyncBatchNorm's reducer).
    public let objective: ShardedObjective
    /// One input tensor and label array per micro-batch of this rank's slice (`microBatches`).
    private var inputs: [Tensor]
    private var labels: [[Int]]
    private var epochOrder: (epoch: Int, order: [Int])?
    private let augmentation: Augmentation

    public init(configuration: TrainingConfiguration, communicator: any Communicator, model: Model,
                trainSet: Dataset, testSet: Dataset) throws {
        self.configuration = configuration
        self.communicator = communicator
        self.model = model
        self.trainSet = trainSet
        self.testSet = testSet
        guard trainSet.imageShape == model.inputShape else {
            throw TrainingError.shapeMismatch("model \(model.name) takes images of shape \(model.inputShape) but \(trainSet.name) has \(trainSet.imageShape)")
        }
        guard trainSet.classCount <= model.classCount else {
            throw TrainingError.shapeMismatch("\(trainSet.name) has \(trainSet.classCount) classes but model \(model.name) outputs \(model.classCount)")
        }
        sampler = try GlobalBatchSampler(sampleCount: trainSet.count, globalBatchSize: configuration.globalBatch, seed: configuration.seed)
        try sampler.validate(worldSize: communicator.size)
        if configuration.optimizerState == .sharded {
            let sharded = try ShardedUpdateStep(configuration: configuration, model: model, communicator: communicator)
            shardedStep = sharded
            updateRule = sharded.rule
        } else {
            shardedStep = nil
            updateRule = try UpdateRules.make(configuration: configuration, model: model)
        }
        objective = ShardedObjective(model: model, communicator: communicator, bucketElements: configuration.bucketElements)
        objective.configureBatchNorm(configuration.batchNorm)
        let localCount = sampler.rankSlice(rank: communicator.rank, worldSize: communicator.size).count
        let sizes = try MicroBatches.sizes(of: localCount, into: configuration.microBatches, rank: communicator.rank)
        inputs = sizes.map { Tensor(shape: [$0] + model.inputShape) }
        labels = sizes.map { [Int](repeating: 0, count: $0) }
        augmentation = configuration.augment
            ? Augmentation(cropPadding: 2, horizontalFlip: true, seed: configuration.seed) : Augmentation()
    }

    /// Copies rank 0's parameters and buffers to every rank, so all ranks start from the same point even if
    /// their initialisation or file reads differed.
    public func broadcastInitialState() throws {
        try communicator.broadcast(model.parameters.values, root: 0)
        if model.buffers.count > 0 { try communicator.broadcast(model.buffers.values, root: 0) }
    }

    /// Restores the step counter and the update rule's state (from a checkpoint).
    public func restore(step: Int, state: CheckpointStore.TrainerState) throws {
        self.step = step
        if let shardedStep {
            try shardedStep.restore(tensors: state.optimizerTensors, metadata: state.optimizerMetadata)
        } else {
            try updateRule.restore(tensors: state.optimizerTensors, metadata: state.optimizerMetadata)
        }
    }

    /// The update rule's whole state for a checkpoint, gathered from every rank when it is sharded (a
    /// collective then: every rank calls it).
    public func optimizerCheckpointContents() throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        try shardedStep?.checkpointContents() ?? updateRule.checkpointContents()
    }

    /// One step: forward and backward on this rank's slice, bucketed gradient mean, update.
    public func trainStep() throws -> StepStatistics {
        communicator.enterPhase("step \(step + 1)")
        let share = try computeGradient()
        var reduced = [share.loss, share.accuracy, StopSignal.pending != 0 ? 1 : 0]
        try communicator.allreduce(&reduced, op: .sum)

        let gradients = UnsafeBufferPointer(model.parameters.gradients)
        let report = try shardedStep?.step(parameters: model.parameters.values, localGradient: gradients, loss: reduced[0])
            ?? updateRule.step(parameters: model.parameters.values, gradient: gradients, loss: reduced[0])
        step += 1
        if configuration.hashEvery > 0 && step % configuration.hashEvery == 0 { try checkConsistency() }
        return StepStatistics(step: step, loss: reduced[0], accuracy: reduced[1], learningRate: report.learningRate,
                              gradientNorm: report.gradientNorm, skipped: report.skipped, stopRequested: reduced[2] > 0)
    }

    /// The current step's gradient of the global batch's mean loss, left in `model.parameters.gradients`
    /// (identical on every rank; under sharded optimizer state, this rank's unaveraged term, which the update
    /// step reduce-scatters). Returns this rank's shares of the global mean loss and accuracy (Σ over its
    /// micro-batches of n_m / B times their means), which sum over ranks to the global ones. Does not advance
    /// the step.
    public func computeGradient() throws -> ShardedObjective.ShardLoss {
        let (epoch, indices) = currentSlice()
        // Dropout masks depend on (seed, step, rank) only, so a resumed run draws the same masks.
        let dropoutSeed = configuration.seed &+ UInt64(step) &* 0x9E37_79B9 &+ UInt64(communicator.rank) << 40
        var share = ShardedObjective.ShardLoss(loss: 0, accuracy: 0)
        var next = indices.startIndex
        // Micro-batch by micro-batch, gradients accumulating; the last one's backward starts the bucketed mean
        // (sharded optimizer state reduce-scatters the whole gradient in its update step instead).
        for (micro, input) in inputs.enumerated() {
            let sample = indices[next..<(next + input.shape[0])]
            next += input.shape[0]
            load(sample, into: input, labels: &labels[micro], epoch: epoch)
            // This micro-batch's share of the global mean: weight w = n_m / B (see `ShardedObjective`).
            let weight = Double(sample.count) / Double(sampler.globalBatchSize)
            let isLast = micro == inputs.count - 1
            let shard = try objective.lossAndGradient(
                input: input, labels: labels[micro], weight: weight,
                reduction: isLast && shardedStep == nil ? .globalMean : .unaveragedMeanTerm,
                dropoutSeed: micro == 0 ? dropoutSeed : nil, accumulate: micro > 0)
            share.loss += shard.loss * weight
            share.accuracy += shard.accuracy * weight
        }
        return share
    }

    /// This rank's slice of the current step's global batch, from the cached epoch order.
    private func currentSlice() -> (epoch: Int, indices: ArraySlice<Int>) {
        let epoch = step / sampler.stepsPerEpoch
        if epochOrder?.epoch != epoch { epochOrder = (epoch, sampler.epochOrder(epoch: epoch)) }
        let order = epochOrder!.order
        return (epoch, order[sampler.localPositions(step: step % sampler.stepsPerEpoch, rank: communicator.rank,
                                                    worldSize: communicator.size)])
    }

    /// Gathers `sample` into a micro-batch's preallocated input and labels, augmented when configured.
    private func load(_ sample: ArraySlice<Int>, into input: Tensor, labels: inout [Int], epoch: Int) {
        trainSet.gather(sample, into: input.storage, labels: &labels)
        if augmentation.isEnabled {
            augmentation.apply(to: input.storage, channels: trainSet.channels, height: trainSet.height, width: trainSet.width,
                               sampleIndices: sample, epoch: epoch)
        }
    }

    /// Compares a hash of the parameters across ranks; on a mismatch stops or copies rank 0's parameters.
    public func checkConsistency() throws {
        let differing = try ParameterConsistency.disagreeingRanks(communicator, values: UnsafeBufferPointer(model.parameters.values))
        guard !differing.isEmpty else { return }
        if configuration.onHashMismatch == .rebroadcast {
            try broadcastInitialState()
        } else {
            throw ParameterMismatchError(step: step, ranks: differing)
        }
    }

    /// Loss and accuracy on the whole test set, each rank evaluating a contiguous shard.
    public func evaluate(batchSize: Int = 500) throws -> (loss: Double, accuracy: Double) {
        communicator.enterPhase("evaluation after step \(step)")
        return try objective.evaluate(testSet, batchSize: batchSize)
    }

    /// Hash of the current parameters.
    public var parameterHash: UInt64 { ParameterConsistency.hash(UnsafeBufferPointer(model.parameters.values)) }
}

/// Errors of a training run that are not configuration errors.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(text): return text
        case let .checkpoint(text): return text
        }
    }
}
