/// Where each tensor of φ lives in the flat meta-parameter buffer, and the MLP's dimensions.
///
/// Order (also the safetensors order): mlp.0.weight [H, F], mlp.0.bias [H], mlp.1.weight [H, H],
/// mlp.1.bias [H], mlp.2.weight [O, H], mlp.2.bias [O], then embedding [L, E] in the embedding variant.
/// Weights are row-major [out, in], as in PyTorch's `nn.Linear`. Output 0 is o_λ, outputs 1...P are o_μ.
public struct MetaNetworkLayout: Sendable, Equatable {
    public let inputCount: Int
    public let hiddenWidth: Int
    public let outputCount: Int
    public let layerCount: Int
    public let embeddingWidth: Int
    public let hasEmbedding: Bool

    public let firstWeightOffset: Int
    public let firstBiasOffset: Int
    public let secondWeightOffset: Int
    public let secondBiasOffset: Int
    public let outputWeightOffset: Int
    public let outputBiasOffset: Int
    public let embeddingOffset: Int
    /// Total number of meta-parameters.
    public let count: Int

    public init(configuration: L3RSConfiguration, layerCount: Int) {
        let features = FeatureLayout(configuration: configuration)
        inputCount = features.count
        hiddenWidth = configuration.hiddenWidth
        outputCount = 1 + configuration.baseCount
        self.layerCount = layerCount
        embeddingWidth = configuration.embeddingWidth
        hasEmbedding = configuration.variant == .layerEmbedding
        firstWeightOffset = 0
        firstBiasOffset = firstWeightOffset + hiddenWidth * inputCount
        secondWeightOffset = firstBiasOffset + hiddenWidth
        secondBiasOffset = secondWeightOffset + hiddenWidth * hiddenWidth
        outputWeightOffset = secondBiasOffset + hiddenWidth
        outputBiasOffset = outputWeightOffset + outputCount * hiddenWidth
        embeddingOffset = outputBiasOffset + outputCount
        count = embeddingOffset + (hasEmbedding ? layerCount * embeddingWidth : 0)
    }

    /// The named tensors of φ in buffer order.
    public var entries: [MetaParameterEntry] {
        var result = [
            MetaParameterEntry(name: "mlp.0.weight", offset: firstWeightOffset, shape: [hiddenWidth, inputCount]),
            MetaParameterEntry(name: "mlp.0.bias", offset: firstBiasOffset, shape: [hiddenWidth]),
            MetaParameterEntry(name: "mlp.1.weight", offset: secondWeightOffset, shape: [hiddenWidth, hiddenWidth]),
            MetaParameterEntry(name: "mlp.1.bias", offset: secondBiasOffset, shape: [hiddenWidth]),
            MetaParameterEntry(name: "mlp.2.weight", offset: outputWeightOffset, shape: [outputCount, hiddenWidth]),
            MetaParameterEntry(name: "mlp.2.bias", offset: outputBiasOffset, shape: [outputCount]),
        ]
        if hasEmbedding {
            result.append(MetaParameterEntry(name: "embedding", offset: embeddingOffset,
                                             shape: [layerCount, embeddingWidth]))
        }
        return result
    }
}
