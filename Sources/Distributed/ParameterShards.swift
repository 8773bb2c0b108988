/// How sharded optimizer state (ZeRO stage 1) cuts a flat parameter buffer among the ranks, one consecutive
/// segment per rank in rank order (what `reduceScatter` and `allgather` move). Two cuts: balanced by element
/// count with every cut inside a layer at a multiple of `alignment` from the layer's start, for optimizers with
/// per-layer statistics (L3RS: a layer cut between ranks sums its statistics chunk by chunk and hands the sums
/// on, which needs chunk-aligned parts); or into equal element counts, for rules that work element by element
/// (the hand-designed ones).
public struct ParameterShards: Sendable, Equatable {
    /// Per rank: the layers (indices into the layer table) its elements touch; a layer cut by a boundary belongs
    /// to the ranks on both sides of it. nil for the element cut.
    public let layerRanges: [Range<Int>]?
    /// Per rank: the layers whose first element it holds, where a per-layer value is counted once (checkpoints,
    /// sums over layers): consecutive, disjoint, covering the table; empty for a rank inside one layer.
    public let ownedLayerRanges: [Range<Int>]?
    /// Per rank: the elements of the flat buffer it owns.
    public let elementRanges: [Range<Int>]

    /// Element counts per rank, as `reduceScatter` and `allgather` take them.
    public var counts: [Int] { elementRanges.map(\.count) }

    /// The layers (indices into the table) a boundary cuts, in order: where a rank starts inside a layer.
    public var cutLayers: [Int] {
        guard let touched = layerRanges, let owned = ownedLayerRanges else { return [] }
        return Array(Set(zip(touched, owned).compactMap { $0.lowerBound != $1.lowerBound ? $0.lowerBound : nil })).sorted()
    }

    /// - Parameters:
    ///   - layers: (offset, count) of each layer in the flat buffer, in table order; adjacent, from offset 0.
    ///   - ranks: the world size. The boundary between rank r − 1 and r is the point nearest r/ranks of the
    ///     elements that is a layer's start or lies in a layer at a multiple of `alignment` from its start.
    ///   - alignment: the element count of a statistics chunk (`SumOfSquares.chunkAlignment`).
    public init(layers: [(offset: Int, count: Int)], ranks: Int, alignment: Int) throws {
        guard ranks >= 1, alignment >= 1 else {
            throw CommunicatorError.invalidArgument("cannot shard over \(ranks) ranks in pieces of \(alignment)")
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
        for r in 1..<max(ranks, 1) {
            let target = total * r / ranks
            // The layer holding the target element, and the aligned points of that layer on either side of it.
            let layer = max(0, (prefix.lastIndex { $0 <= target } ?? 0))
            let start = prefix[min(layer, layers.count)]
            let below = start + (target - start) / alignment * alignment
            let above = min(below + alignment, prefix[min(layer + 1, layers.count)])
            let boundary = target - below <= above - target ? below : above
            guard boundary > boundaries.last!, boundary < total else {
                throw CommunicatorError.invalidArgument(
                    "sharded optimizer state cuts layers only at multiples of \(alignment) elements: \(total) elements in \(layers.count) layer(s) cannot give each of \(ranks) ranks a part")
            }
            boundaries.append(boundary)
        }
        boundaries.append(total)
        elementRanges = (0..<ranks).map { boundaries[$0]..<boundaries[$0 + 1] }
        // Layer l spans prefix[l]..<prefix[l + 1].
        layerRanges = elementRanges.map { elements in
            let first = prefix.lastIndex { $0 <= elements.lowerBound }!
            let last = prefix.firstIndex { $0 >= elements.upperBound }!
            return first..<last
        }
        ownedLayerRanges = elementRanges.map { elements in
            let first = prefix.firstIndex { $0 >= elements.lowerBound }!
            let last = prefix.firstIndex { $0 >= elements.upperBound }!
            return first..<max(first, last)
        }
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
        ownedLayerRanges = nil
    }
}
