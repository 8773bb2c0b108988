import Seeding

/// Chooses which samples each rank trains on, so that data-parallel training sees exactly the batches a
/// single process would.
///
/// Every global batch depends only on (seed, epoch, step, global batch size): the epoch's order is a seeded
/// permutation of the whole dataset and step s takes its positions s·B ..< (s+1)·B. The last incomplete
/// batch of an epoch is dropped, so every step has exactly B samples. Rank r of R then takes a fixed
/// contiguous slice of the global batch. When R does not divide B, the first B mod R ranks take one sample
/// more (⌈B/R⌉ against ⌊B/R⌋); a rank's gradient must then be weighted by `localCount / B` (see
/// `sliceWeight`) for the allreduced sum to equal the global mean. B < R is rejected, so no rank is idle.
/// The union of the slices over ranks is exactly the global batch, in order.
public struct GlobalBatchSampler: Sendable, Equatable {
    public let sampleCount: Int
    public let globalBatchSize: Int
    public let seed: UInt64

    public init(sampleCount: Int, globalBatchSize: Int, seed: UInt64) throws {
        guard globalBatchSize > 0 else {
            throw DatasetError(file: "batch sampler", "global batch size \(globalBatchSize) must be positive")
        }
        guard sampleCount >= globalBatchSize else {
            throw DatasetError(file: "batch sampler", "global batch size \(globalBatchSize) exceeds the \(sampleCount) samples")
        }
        self.sampleCount = sampleCount
        self.globalBatchSize = globalBatchSize
        self.seed = seed
    }

    /// Full batches per epoch (the remainder is dropped).
    public var stepsPerEpoch: Int { sampleCount / globalBatchSize }

    /// The order of all samples in an epoch; callers that take many steps compute it once per epoch.
    public func epochOrder(epoch: Int) -> [Int] {
        var generator = SplitMix64(seed: seed, stream: 0x4550_4F43, UInt64(epoch)) // "EPOC"
        return generator.permutation(sampleCount)
    }

    /// The sample indices of global batch `step` of `epoch`.
    public func globalBatch(epoch: Int, step: Int, order: [Int]? = nil) -> [Int] {
        precondition(step >= 0 && step < stepsPerEpoch, "step \(step) outside 0..<\(stepsPerEpoch)")
        let epochOrder = order ?? self.epochOrder(epoch: epoch)
        return Array(epochOrder[(step * globalBatchSize)..<((step + 1) * globalBatchSize)])
    }

    /// Checks that a world of `worldSize` ranks can share a global batch.
    public func validate(worldSize: Int) throws {
        guard worldSize >= 1, worldSize <= globalBatchSize else {
            throw DatasetError(file: "batch sampler", "global batch size \(globalBatchSize) cannot be shared by \(worldSize) ranks (need 1 ≤ ranks ≤ batch size)")
        }
    }

    /// Positions within the global batch that rank `rank` of `worldSize` takes.
    public func rankSlice(rank: Int, worldSize: Int) -> Range<Int> {
        precondition(worldSize >= 1 && worldSize <= globalBatchSize && rank >= 0 && rank < worldSize)
        let base = globalBatchSize / worldSize, extra = globalBatchSize % worldSize
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// The fraction of the global batch a rank holds: the weight of its mean loss in the global mean.
    public func sliceWeight(rank: Int, worldSize: Int) -> Double {
        Double(rankSlice(rank: rank, worldSize: worldSize).count) / Double(globalBatchSize)
    }

    /// The sample indices rank `rank` of `worldSize` trains on at (epoch, step).
    public func localBatch(epoch: Int, step: Int, rank: Int, worldSize: Int, order: [Int]? = nil) -> [Int] {
        let epochOrder = order ?? self.epochOrder(epoch: epoch)
        return Array(epochOrder[localPositions(step: step, rank: rank, worldSize: worldSize)])
    }

    /// Where `localBatch` lies in the epoch's order: a trainer slices its cached order there without copying.
    public func localPositions(step: Int, rank: Int, worldSize: Int) -> Range<Int> {
        precondition(step >= 0 && step < stepsPerEpoch, "step \(step) outside 0..<\(stepsPerEpoch)")
        let slice = rankSlice(rank: rank, worldSize: worldSize)
        return (step * globalBatchSize + slice.lowerBound)..<(step * globalBatchSize + slice.upperBound)
    }
}
