import Datasets
import Dispatch
import Distributed
import Network

/// The one place a loss and its gradient are computed for a data-parallel job: forward on this rank's shard
/// of a global batch, softmax cross-entropy, backward, and the reduction over ranks. Fine-tuning
/// (`DataParallelTrainer`), meta-training's inner problem (`ModelInnerProblem`), evaluation and the
/// benchmarks all call it, so a fix or a speed-up here (SyncBatchNorm, bucketing, evaluation mode) reaches
/// every one of them.
///
/// Rank r holds n_r of the global batch's B samples and weight w_r = n_r / B (`GlobalBatchSampler.sliceWeight`):
/// the global mean loss is Σ_r w_r · (shard mean loss). The gradient of the logits is scaled so that the
/// chosen `Reduction` yields the global mean loss's gradient (see there). The gradient is left in
/// `model.parameters.gradients`.
public final class ShardedObjective {
    /// Training mode uses batch statistics (BatchNorm per `configureBatchNorm`) and dropout; evaluation mode
    /// the running statistics and no dropout, and updates no running statistics.
    public enum Mode: Sendable {
        case training, evaluation
    }

    /// What the gradient left in `model.parameters.gradients` is.
    public enum Reduction: Sendable {
        /// The global mean loss's gradient on every rank: this rank's gradient times w_r·R, averaged over
        /// ranks in fixed buckets whose allreduces start from the backward hook as layers finish.
        case globalMean
        /// This rank's term of the global gradient, w_r × its shard's gradient; the terms sum over ranks to
        /// the global gradient. No collective.
        case rankShare
        /// w_r·R × this rank's shard gradient, not yet averaged: for callers that average what they compute
        /// from it (a Hessian-vector product from two such gradients). No collective.
        case unaveragedMeanTerm
    }

    /// This rank's shard: its mean loss and accuracy (not reduced over ranks).
    public struct ShardLoss: Sendable, Equatable {
        public var loss: Double
        public var accuracy: Double
    }

    /// The trainer's default bucket size (`TrainingConfiguration.bucketElements`).
    public static let defaultBucketElements = 1 << 18

    public let model: Model
    public let communicator: any Communicator
    /// Start each bucket's allreduce from the backward hook (false: reduce every bucket after backward; a
    /// benchmark's baseline).
    public var overlapsReduction = true
    /// Seconds the last `globalMean` gradient waited for the allreduce after backward (what overlap did not hide).
    public private(set) var lastExposedReductionSeconds = 0.0

    private let reducer: BucketedAllreduce
    /// Sums BatchNorm statistics over ranks (`sync` with more than one rank).
    private var batchStatistics: RankBatchStatistics?
    private let lossFunction = SoftmaxCrossEntropy()
    private var shardInput: Tensor?

    /// Leaves the model's BatchNorm mode as it is; `configureBatchNorm` chooses one.
    public init(model: Model, communicator: any Communicator, bucketElements: Int = defaultBucketElements) {
        self.model = model
        self.communicator = communicator
        reducer = BucketedAllreduce(layers: model.parameters.entries.map { (offset: $0.offset, count: $0.count) },
                                    bucketElements: bucketElements, communicator: communicator)
    }

    /// Sets how the model's BatchNorm layers normalise in training mode; `sync` on more than one rank attaches
    /// the reducer that sums their statistics over the ranks (SyncBatchNorm).
    public func configureBatchNorm(_ mode: BatchNormMode) {
        batchStatistics = mode == .sync && communicator.size > 1 ? RankBatchStatistics(communicator: communicator) : nil
        model.configureBatchNorm(mode, reducer: batchStatistics)
    }

    /// Forward only: this shard's mean loss and accuracy.
    public func loss(input: Tensor, labels: [Int], mode: Mode = .evaluation) throws -> ShardLoss {
        let logits = model.forward(input, training: mode == .training)
        try batchStatistics?.rethrowFailure()
        return ShardLoss(loss: Double(lossFunction.loss(logits: logits, labels: labels)),
                         accuracy: Double(accuracy(logits: logits, labels: labels)))
    }

    /// Forward, loss and backward on this rank's shard (weight w_r), reduced as `reduction` says; the gradient
    /// is left in `model.parameters.gradients`. `dropoutSeed` restarts the dropout streams first, so that a
    /// step's masks depend on the seed alone. `accumulate` adds to the gradients already there (the later
    /// micro-batches of a step) instead of starting from zero.
    @discardableResult
    public func lossAndGradient(input: Tensor, labels: [Int], weight: Double, reduction: Reduction,
                                mode: Mode = .training, dropoutSeed: UInt64? = nil, accumulate: Bool = false) throws -> ShardLoss {
        if let dropoutSeed { model.reseedStochasticLayers(seed: dropoutSeed) }
        if !accumulate { model.parameters.zeroGradients() }
        let shard = try loss(input: input, labels: labels, mode: mode)
        let gradLogits = lossFunction.gradient()
        let factor = Float(reduction == .rankShare ? weight : weight * Double(communicator.size))
        if factor != 1 { for index in 0..<gradLogits.count { gradLogits.storage[index] *= factor } }
        if reduction == .globalMean {
            try backwardAndMean(gradLogits)
        } else {
            model.accumulateParameterGradients(gradLogits)
        }
        try batchStatistics?.rethrowFailure()
        return shard
    }

    /// Loss and accuracy over a whole dataset in evaluation mode, each rank a contiguous shard of batches of
    /// `batchSize`; the sums are allreduced, so every rank gets the same numbers whatever the number of ranks.
    public func evaluate(_ dataset: Dataset, batchSize: Int = 500) throws -> (loss: Double, accuracy: Double) {
        let total = dataset.count
        let per = total / communicator.size, extra = total % communicator.size
        let start = communicator.rank * per + min(communicator.rank, extra)
        let end = start + per + (communicator.rank < extra ? 1 : 0)
        var sums = [0.0, 0.0]
        var position = start
        while position < end {
            let count = min(batchSize, end - position)
            let (input, labels) = shardBatch(dataset, indices: Array(position..<(position + count)))
            let shard = try loss(input: input, labels: labels, mode: .evaluation)
            sums[0] += shard.loss * Double(count)
            sums[1] += shard.accuracy * Double(count)
            position += count
        }
        try communicator.allreduce(&sums, op: .sum)
        return (sums[0] / Double(total), sums[1] / Double(total))
    }

    /// `indices` of `dataset` as an input tensor (reused while the shape stays) and labels.
    public func shardBatch(_ dataset: Dataset, indices: [Int]) -> (input: Tensor, labels: [Int]) {
        let input = Tensor.reusing(shardInput, shape: [indices.count] + model.inputShape)
        shardInput = input
        var labels = [Int](repeating: 0, count: indices.count)
        dataset.gather(indices, into: input.storage, labels: &labels)
        return (input, labels)
    }

    /// Backward with the bucketed mean over ranks, overlapped with backward unless `overlapsReduction` is off.
    private func backwardAndMean(_ gradLogits: Tensor) throws {
        let gradients = model.parameters.gradients
        if overlapsReduction {
            try model.accumulateParameterGradients(gradLogits) { try reducer.layerFinished($0, gradients: gradients) }
        } else {
            model.accumulateParameterGradients(gradLogits)
        }
        let waitStart = DispatchTime.now().uptimeNanoseconds
        try reducer.finish(gradients: gradients)
        lastExposedReductionSeconds = Double(DispatchTime.now().uptimeNanoseconds - waitStart) * 1e-9
    }
}
