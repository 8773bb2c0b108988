/// How sharded optimizer state (ZeRO stage 1) cuts a flat parameter buffer among the ranks, one consecutive
/// segment per rank in rank order (what `reduceScatter` and `allgather` move). Two cuts: into runs of whole
/// layers balanced by element count, for optimizers with per-layer statistics (L3RS's rms features), so that
/// each layer's state and statistics live on exactly one rank and need no reduction across a shard boundary;
/// or into equal element counts, for rules that work element by element (the hand-designed ones).
public struct ParameterShards: Sendable, Equatable {
    /// Per rank: the indices (into the layer table) of the layers it owns; nil when the cut goes through layers.
    public let layerRanges: [Range<Int>]?
    /// Per rank: the elements of the flat buffer it owns.
    public let elementRanges: [Range<Int>]

    /// Element counts per rank, as `reduceScatter` and `allgather` take them.
    public var counts: [Int] { elementRanges.map(\.count) }

    /// - Parameters:
    ///   - layers: (offset, count) of each layer in the flat buffer, in table order; adjacent, from offset 0.
    ///   - ranks: the world size. Each boundary between rank r − 1 and r is the layer boundary nearest to r/ranks
    ///     of the elements, moved where needed so that every rank owns at least one layer.
    public init(layers: [(offset: Int, count: Int)], ranks: Int) throws {
        guard ranks >= 1 else { throw CommunicatorError.invalidArgument("cannot shard over \(ranks) ranks") }
        guard layers.count >= ranks else {
            throw CommunicatorError.invalidArgument(
                "sharded optimizer state gives every rank whole layers: \(layers.count) layer(s) cannot be shared by \(ranks) ranks")
        }
        var prefix = [0]
        for layer in layers {
            guard layer.offset == prefix.last! else {
                throw CommunicatorError.invalidArgument("the layer at offset \(layer.offset) does not follow the one before it (expected \(prefix.last!))")
            }
            prefix.append(layer.offset + layer.count)
        }
        let total = prefix.last!
        var boundaries = [0]
        for r in 1..<ranks {
            let target = Double(total) * Double(r) / Double(ranks)
            // Leave at least one layer for this rank and for each rank after it.
            let candidates = (boundaries.last! + 1)...(layers.count - (ranks - r))
            let best = candidates.min { abs(Double(prefix[$0]) - target) < abs(Double(prefix[$1]) - target) }!
            boundaries.append(best)
        }
        boundaries.append(layers.count)
        let layerRanges = (0..<ranks).map { boundaries[$0]..<boundaries[$0 + 1] }
        self.layerRanges = layerRanges
        elementRanges = layerRanges.map { prefix[$0.lowerBound]..<prefix[$0.upperBound] }
    }

    /// Equal element counts (the first `elementCount % ranks` ranks hold one more), whatever the layers.
    public init(elementCount: Int, ranks: Int) throws {
        guard ranks >= 1, elementCount >= ranks else {
            throw CommunicatorError.invalidArgument("cannot shard \(elementCount) elements over \(ranks) ranks")
        }
        let base = elementCount / ranks, extra = elementCount % ranks
        elementRanges = (0..<ranks).map { rank in
            let start = rank * base + min(rank, extra)
            return start..<(start + base + (rank < extra ? 1 : 0))
        }
        layerRanges = nil
    }
}
