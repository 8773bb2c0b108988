/// Where one rank's run of layers sits in the whole net's layer table, and how that rank reads every layer's
/// value of a per-layer statistic (sharded optimizer state, ZeRO stage 1: each rank steps its own layers).
///
/// Feature set v2 standardises log rms(θ_l) and log rms(g_l) over the layers of the net (z-scores), so an
/// optimizer over a shard of the layers must standardise over all of them, as the replicated optimizer does, to
/// take the same step; every other feature is computed from the layer itself and the global loss.
///
/// `@unchecked Sendable`: `gather` runs a collective of the caller's communicator and is only called from the
/// thread that steps the optimizer.
public struct AcrossShardLayers: @unchecked Sendable {
    /// Index in the whole table of the shard's first layer.
    public let firstLayer: Int
    /// Every layer's value, in table order, from this shard's values. A collective: every rank calls it for
    /// the same statistics in the same order, once per step that is not skipped.
    public let gather: ([Float]) -> [Float]

    public init(firstLayer: Int, gather: @escaping ([Float]) -> [Float]) {
        self.firstLayer = firstLayer
        self.gather = gather
    }
}
