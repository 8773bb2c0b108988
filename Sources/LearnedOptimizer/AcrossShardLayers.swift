/// How one rank's optimizer over its shard of the parameters (sharded optimizer state, ZeRO stage 1) reads
/// what the other shards know: every layer's value of a per-layer statistic, and the sums of a layer cut
/// between ranks.
///
/// Feature set v2 standardises log rms(θ_l) and log rms(g_l) over the layers of the net (z-scores), so an
/// optimizer over a shard must standardise over all of them, as the replicated optimizer does, to take the same
/// step (`gather`). A layer cut by a shard boundary has its sums of squares (and v2's dot products) measured in
/// parts on several ranks; `exchange` hands each rank's parts to every rank, which add them in rank order, chunk
/// by chunk, as the replicated optimizer would (`CutLayerSums`).
///
/// `@unchecked Sendable`: the closures run collectives of the caller's communicator and are only called from
/// the thread that steps the optimizer.
public struct AcrossShardLayers: @unchecked Sendable {
    /// Index in the whole table of the shard's first layer.
    public let firstLayer: Int
    /// Whether any shard boundary cuts a layer: then every rank calls `exchange` once a step, even one whose
    /// own layers are whole.
    public let cutsLayers: Bool
    /// Every layer's value, in table order, from this shard's values of its layers (a cut layer's value is the
    /// same on every rank that holds part of it). A collective: every rank calls it for the same statistics in
    /// the same order, once per step that is not skipped.
    public let gather: ([Float]) -> [Float]
    /// Every rank's buffer, in rank order, from this rank's (any length). A collective, as `gather`.
    public let exchange: ([Double]) -> [[Double]]

    public init(firstLayer: Int, cutsLayers: Bool, gather: @escaping ([Float]) -> [Float],
                exchange: @escaping ([Double]) -> [[Double]]) {
        self.firstLayer = firstLayer
        self.cutsLayers = cutsLayers
        self.gather = gather
        self.exchange = exchange
    }
}
