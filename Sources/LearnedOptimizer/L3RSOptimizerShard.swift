import Checkpoints
import Optimizers

/// One rank's layers under sharded optimizer state: which part of each whole layer its elements hold. A shard
/// boundary may cut a layer (at a multiple of `SumOfSquares.chunkAlignment` from the layer's start); the ranks
/// beside it then each hold part of that layer and its per-layer state, and measure its statistics together.
public struct ShardLayerParts: Sendable, Equatable {
    /// Index in the whole table of the shard's first layer.
    public let firstLayer: Int
    /// Per layer of the shard: the whole layer's element count (its rms statistics are over the whole layer).
    public let wholeCounts: [Int]
    /// Per layer of the shard: where its part starts within the whole layer (0 where this shard holds its start).
    public let partStarts: [Int]
    /// Per layer of the shard: the part's element count.
    public let partCounts: [Int]

    /// Layers (shard indices) of which this shard holds only a part.
    public var cutLayers: [Int] { wholeCounts.indices.filter { partCounts[$0] < wholeCounts[$0] } }
    /// Layers (shard indices) whose first element this shard holds, where a per-layer value is counted once.
    public var ownedLayers: Range<Int> {
        let first = partStarts.first == 0 ? 0 : 1
        return first..<max(first, partStarts.count)
    }
}

extension L3RSOptimizer {
    /// The same optimizer (configuration and φ) over the elements `elements` of the flat buffer only, offsets
    /// counted from its start: the optimizer one rank runs on its shard of the parameters under sharded optimizer
    /// state. Each layer it touches keeps its name, kind, relative depth and (in the embedding variant)
    /// embedding; a layer cut by the shard's ends keeps the part inside and measures its statistics over the
    /// whole layer with the other ranks holding the rest (`shareStatistics(across:)`, which must then be set).
    /// Every feature of a layer is computed from that layer alone and the global loss, except feature set v2's
    /// standardised statistics, which also need every other layer's (`shareStatistics(across:)`); with them, the
    /// shard's steps are exactly the whole optimizer's steps on those elements. A cut into a layer must lie at a
    /// multiple of `SumOfSquares.chunkAlignment` from the layer's start (`ParameterShards`).
    public func restricted(toElements elements: Range<Int>) throws(L3RSError) -> L3RSOptimizer {
        guard shardParts == nil else { throw .invalidLayerTable("the optimizer is already a shard") }
        guard !elements.isEmpty, elements.lowerBound >= 0, elements.upperBound <= parameterCount else {
            throw .invalidLayerTable("elements \(elements) of a buffer of \(parameterCount)")
        }
        let touched = layers.indices.filter { layers[$0].range.overlaps(elements) }
        guard let first = touched.first, let last = touched.last, touched.count == last - first + 1 else {
            throw .invalidLayerTable("elements \(elements) do not hold a run of layers of the table")
        }
        let range = first..<(last + 1)
        var shardLayers: [LayerSlice] = [], starts: [Int] = []
        for layer in layers[range] {
            let part = layer.range.clamped(to: elements)
            let start = part.lowerBound - layer.offset
            guard start % SumOfSquares.chunkAlignment == 0 else {
                throw .invalidLayerTable("a shard starts \(start) elements into \(layer.name), not a multiple of \(SumOfSquares.chunkAlignment)")
            }
            shardLayers.append(LayerSlice(name: layer.name, offset: part.lowerBound - elements.lowerBound, count: part.count,
                                          kind: layer.kind, relativeDepth: layer.relativeDepth))
            starts.append(start)
        }
        var shardConfiguration = configuration
        shardConfiguration.layerNames = shardLayers.map(\.name)
        let tensors = metaParameters.tensors.map { tensor -> NamedTensor in
            guard tensor.name == "embedding", let width = tensor.shape.last else { return tensor }
            let rows = Array(tensor.floats()[(range.lowerBound * width)..<(range.upperBound * width)])
            return NamedTensor(name: tensor.name, shape: [range.count, width], floats: rows)
        }
        let φ = try MetaParameters(configuration: shardConfiguration, layerCount: range.count, tensors: tensors)
        var shard = try L3RSOptimizer(configuration: shardConfiguration, layers: shardLayers,
                                      parameterCount: elements.count, metaParameters: φ)
        let parts = ShardLayerParts(firstLayer: first, wholeCounts: layers[range].map(\.count), partStarts: starts,
                                    partCounts: shardLayers.map(\.count))
        shard.shardParts = parts
        shard.learnedRule.countedLayers = parts.ownedLayers
        return shard
    }

    /// Lets an optimizer over a shard (`restricted(toElements:)`) read the other shards: feature set v2's
    /// statistics standardised over the whole net, and the sums of the layers cut between shards.
    public mutating func shareStatistics(across: AcrossShardLayers) {
        learnedRule.acrossShards = across
    }
}
