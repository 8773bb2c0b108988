import Distributed
import Network

/// Synchronised BatchNorm's reduction over the ranks of a data-parallel run: BatchNorm layers hand it their
/// per-channel sums, it returns the same rank-ordered sum on every rank (`allreduceSumInRankOrder`), so the
/// global batch's statistics, and the running statistics updated from them, are identical on every rank.
/// A layer pass cannot throw: a failed collective is kept and rethrown by `rethrowFailure()` after the pass
/// (the values are then left unreduced, and the step is abandoned).
final class RankBatchStatistics: BatchStatisticsReducer {
    private let communicator: any Communicator
    private var scratch: [Double] = []
    private var failure: (any Error)?

    init(communicator: any Communicator) {
        self.communicator = communicator
    }

    func sumAcrossRanks(_ values: UnsafeMutableBufferPointer<Double>) {
        guard failure == nil else { return }
        do { try communicator.allreduceSumInRankOrder(values, scratch: &scratch) } catch { failure = error }
    }

    func rethrowFailure() throws {
        if let failure { throw failure }
    }
}
