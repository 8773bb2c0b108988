import Datasets
import Distributed
import LearnedOptimizer
import Network
import Training

/// The inner problem of one truncation on the real model, data-parallel (docs/method.md §5): at inner step k
/// this rank runs forward/backward on its slice of global training batch B_k, and the gradient is the
/// allreduced global mean on every rank, so every rank takes the identical L3RS step. Meta-validation batch
/// V_k comes from the held-out part of the training data; the held-out loss runs the model in evaluation
/// mode (BatchNorm's running statistics, no dropout), as the fine-tuned model will be used.
///
/// Validation gradients come in two reductions. First order: each rank returns only its share of the global
/// validation loss (its slice weight times its shard's mean), because the reverse pass is then linear in
/// the seeds with coefficients every rank shares, and the per-rank meta-gradients sum to the global one (one
/// allreduce per truncation). Second order: the reverse pass multiplies the adjoint by the Hessian, which
/// needs the same adjoint on every rank, so validation gradients are allreduced to the global mean and each
/// rank's Hessian-vector product on its shard is allreduced (the global Hessian is the mean of the shards').
///
/// Every loss and gradient comes from Training's `ShardedObjective` (the one gradient path), the training
/// gradient with the same bucketed mean over ranks as the fine-tuning trainer's. BatchNorm normalises with
/// this rank's shard (`local`) unless `batchNorm` says otherwise.
///
/// Deterministic in (θ, step), as the recompute memory mode requires. Collective failures cannot be thrown
/// through `InnerProblem`; the first one is kept in `failure` (the caller checks it) and the losses turn NaN.
public final class ModelInnerProblem: InnerProblem {
    public enum ValidationReduction: Sendable {
        /// Each rank returns its slice weight × its shard's loss and gradient; sum them over ranks.
        case rankShare
        /// Every rank returns the global mean.
        case globalMean
    }

    public let model: Model
    public let communicator: any Communicator
    public let trainSet: Dataset
    public let validationSet: Dataset
    public let trainSampler: GlobalBatchSampler
    public let validationSampler: GlobalBatchSampler
    public let validationReduction: ValidationReduction
    /// The first collective error, if any; the meta-trainer throws it after the truncation.
    public private(set) var failure: (any Error)?

    private let objective: ShardedObjective
    private var trainOrder: (epoch: Int, order: [Int])?
    private var validationOrder: (epoch: Int, order: [Int])?

    public init(model: Model, communicator: any Communicator, trainSet: Dataset, validationSet: Dataset,
                trainSampler: GlobalBatchSampler, validationSampler: GlobalBatchSampler,
                validationReduction: ValidationReduction, batchNorm: BatchNormMode = .local) throws {
        try trainSampler.validate(worldSize: communicator.size)
        try validationSampler.validate(worldSize: communicator.size)
        self.model = model
        self.communicator = communicator
        self.trainSet = trainSet
        self.validationSet = validationSet
        self.trainSampler = trainSampler
        self.validationSampler = validationSampler
        self.validationReduction = validationReduction
        objective = ShardedObjective(model: model, communicator: communicator)
        objective.configureBatchNorm(batchNorm)
    }

    public func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        let weight = trainSampler.sliceWeight(rank: communicator.rank, worldSize: communicator.size)
        guard let local = shardGradient(parameters: parameters, dataset: trainSet, indices: trainingSlice(step: step),
                                        weight: weight, reduction: .globalMean, into: gradient) else { return .nan }
        return globalLoss(share: local * weight)
    }

    public func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        let weight = validationSampler.sliceWeight(rank: communicator.rank, worldSize: communicator.size)
        let reduction: ShardedObjective.Reduction = validationReduction == .rankShare ? .rankShare : .globalMean
        guard let local = shardGradient(parameters: parameters, dataset: validationSet,
                                        indices: validationSlice(step: step), weight: weight, reduction: reduction,
                                        mode: .evaluation, into: gradient) else { return .nan }
        return validationReduction == .rankShare ? Float(local * weight) : globalLoss(share: local * weight)
    }

    /// The global held-out loss and accuracy of step `step`'s meta-validation batch (evaluation mode, no
    /// backward pass): what meta-validation and evolution strategies score, at a third of the cost of
    /// `validationLossAndGradient`. Identical on every rank.
    public func validationLossAndAccuracy(parameters θ: UnsafeBufferPointer<Float>, step: Int) -> (loss: Float, accuracy: Float) {
        let slice = validationSlice(step: step)
        let weight = validationSampler.sliceWeight(rank: communicator.rank, worldSize: communicator.size)
        let (input, labels) = objective.shardBatch(validationSet, indices: slice)
        do {
            let shard = try model.parameters.borrowing(values: θ) {
                try objective.loss(input: input, labels: labels, mode: .evaluation)
            }
            var shares = [shard.loss * weight, shard.accuracy * weight]
            try communicator.allreduce(&shares, op: .sum)
            return (Float(shares[0]), Float(shares[1]))
        } catch {
            record(error)
            return (.nan, .nan)
        }
    }

    /// Central difference of this shard's training gradients, then allreduced: H v of the global loss.
    public func trainingHessianVectorProduct(
        parameters: UnsafeBufferPointer<Float>, vector: UnsafeBufferPointer<Float>, step: Int,
        into product: UnsafeMutableBufferPointer<Float>
    ) {
        let slice = trainingSlice(step: step)
        let weight = trainSampler.sliceWeight(rank: communicator.rank, worldSize: communicator.size)
        CentralDifferenceHessianVectorProduct.compute(parameters: parameters, vector: vector, into: product) { θ, g in
            Float(shardGradient(parameters: θ, dataset: trainSet, indices: slice, weight: weight,
                                reduction: .unaveragedMeanTerm, into: g) ?? .nan)
        }
        do { try communicator.allreduce(product, op: .mean) } catch { record(error) }
    }

    private func validationSlice(step: Int) -> [Int] {
        let epoch = step / validationSampler.stepsPerEpoch
        if validationOrder?.epoch != epoch { validationOrder = (epoch, validationSampler.epochOrder(epoch: epoch)) }
        return validationSampler.localBatch(epoch: epoch, step: step % validationSampler.stepsPerEpoch,
                                            rank: communicator.rank, worldSize: communicator.size,
                                            order: validationOrder?.order)
    }

    private func trainingSlice(step: Int) -> [Int] {
        let epoch = step / trainSampler.stepsPerEpoch
        if trainOrder?.epoch != epoch { trainOrder = (epoch, trainSampler.epochOrder(epoch: epoch)) }
        return trainSampler.localBatch(epoch: epoch, step: step % trainSampler.stepsPerEpoch,
                                       rank: communicator.rank, worldSize: communicator.size, order: trainOrder?.order)
    }

    /// `ShardedObjective.lossAndGradient` at θ on `indices`, with θ and `gradient` lent to the model's parameter
    /// store (no copies): leaves the gradient reduced as `reduction` says in `gradient` and returns the shard's
    /// mean loss (nil after a collective failure, kept in `failure`). The model's own parameters are untouched.
    private func shardGradient(parameters θ: UnsafeBufferPointer<Float>, dataset: Dataset, indices: [Int],
                               weight: Double, reduction: ShardedObjective.Reduction,
                               mode: ShardedObjective.Mode = .training,
                               into gradient: UnsafeMutableBufferPointer<Float>) -> Double? {
        let (input, labels) = objective.shardBatch(dataset, indices: indices)
        do {
            let shard = try model.parameters.borrowing(values: θ, gradients: gradient) {
                try objective.lossAndGradient(input: input, labels: labels, weight: weight, reduction: reduction, mode: mode)
            }
            return shard.loss
        } catch {
            record(error)
            return nil
        }
    }

    /// The sum over ranks of each rank's loss share.
    private func globalLoss(share: Double) -> Float {
        do { return Float(try communicator.allreduce(share, op: .sum)) } catch {
            record(error)
            return .nan
        }
    }

    private func record(_ error: any Error) {
        if failure == nil { failure = error }
    }
}
