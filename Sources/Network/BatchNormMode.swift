import Choices

/// How BatchNorm layers normalise in training mode.
///
/// - `sync`: with batch statistics over the global batch of a data-parallel job (SyncBatchNorm): the
///   per-channel sums and centred sums of squares, and in backward the two per-channel reductions, are
///   summed over the ranks by a `BatchStatisticsReducer`, so 1 and R ranks compute the same normalisation and
///   every rank updates identical running statistics. The default for training; on one rank it is `local`.
/// - `local`: with this rank's slice of the batch only (plain BatchNorm2d on each rank): cheaper, but the
///   model then depends on the number of ranks.
/// - `frozen`: evaluation mode, as most fine-tuning recipes do: the running statistics normalise and are
///   neither updated nor differentiated; the affine scale and shift are still trained.
public enum BatchNormMode: String, ConfigurationChoice {
    case sync, local, frozen
}

/// Sums per-channel statistics over the ranks of a data-parallel job, for `BatchNormMode.sync`. Network knows
/// no communicator: the trainer attaches an implementation backed by its allreduce.
///
/// Contract: every rank calls it in the same order with buffers of the same length, and the result is
/// identical on every rank (bitwise, so that running statistics stay identical). Layer passes cannot throw,
/// so an implementation keeps a failure for its owner to rethrow after the pass.
public protocol BatchStatisticsReducer: AnyObject {
    /// Replaces `values` by their sum over all ranks.
    func sumAcrossRanks(_ values: UnsafeMutableBufferPointer<Double>)
}
