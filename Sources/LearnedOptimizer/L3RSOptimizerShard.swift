import Checkpoints

extension L3RSOptimizer {
    /// The same optimizer (configuration and φ) over a run of its layers only, with the layers' offsets counted
    /// from the first one's: the optimizer one rank runs on its shard of the parameters under sharded optimizer
    /// state. Each layer keeps its name, kind, relative depth and (in the embedding variant) embedding, and
    /// every feature of a layer is computed from that layer alone and the global loss, except feature set v2's
    /// standardised statistics, which need every layer's (`standardise(over:)`); with them, the shard's steps
    /// are exactly the whole optimizer's steps on those layers.
    public func restricted(toLayers range: Range<Int>) throws(L3RSError) -> L3RSOptimizer {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= layers.count else {
            throw .invalidLayerTable("layers \(range) of a table of \(layers.count)")
        }
        let start = layers[range.lowerBound].offset
        let shardLayers = layers[range].map { layer in
            LayerSlice(name: layer.name, offset: layer.offset - start, count: layer.count, kind: layer.kind,
                       relativeDepth: layer.relativeDepth)
        }
        var shardConfiguration = configuration
        shardConfiguration.layerNames = shardLayers.map(\.name)
        let tensors = metaParameters.tensors.map { tensor -> NamedTensor in
            guard tensor.name == "embedding", let width = tensor.shape.last else { return tensor }
            let rows = Array(tensor.floats()[(range.lowerBound * width)..<(range.upperBound * width)])
            return NamedTensor(name: tensor.name, shape: [range.count, width], floats: rows)
        }
        let φ = try MetaParameters(configuration: shardConfiguration, layerCount: range.count, tensors: tensors)
        let elementCount = shardLayers.last.map { $0.offset + $0.count } ?? 0
        return try L3RSOptimizer(configuration: shardConfiguration, layers: shardLayers, parameterCount: elementCount,
                                 metaParameters: φ)
    }

    /// Lets an optimizer over a shard of the layers (`restricted(toLayers:)`) standardise feature set v2's
    /// statistics over the whole net, reading the other shards' values through `across`. v1 has no
    /// across-layer feature and never calls it.
    public mutating func standardise(over across: AcrossShardLayers) {
        learnedRule.acrossShards = across
    }
}
