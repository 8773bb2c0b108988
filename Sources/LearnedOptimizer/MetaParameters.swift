import Checkpoints
import Seeding

/// The meta-parameters φ (MLP weights and, in the embedding variant, the layer embeddings) in one flat Float
/// buffer with a table of named tensors, so the lead can allreduce its gradient in one call and save it as
/// safetensors.
public struct MetaParameters: Sendable, Equatable {
    public let layout: MetaNetworkLayout
    /// φ, laid out as `layout.entries` says.
    public var values: [Float]

    /// The initial φ of docs/method.md §4: Glorot-uniform hidden weights, zero hidden biases, a zero output
    /// layer whose biases give o_λ = 0 and the preferred base's mixing logit `initialPreferredLogit`, and
    /// small uniform embeddings. Deterministic in `configuration.seed`.
    public init(initialFor configuration: L3RSConfiguration, layerCount: Int) {
        layout = MetaNetworkLayout(configuration: configuration, layerCount: layerCount)
        values = [Float](repeating: 0, count: layout.count)
        var generator = SplitMix64(seed: configuration.seed)
        let (inputs, hidden) = (layout.inputCount, layout.hiddenWidth)
        let firstBound = Float((6.0 / Double(inputs + hidden)).squareRoot())
        for i in 0..<(hidden * inputs) {
            values[layout.firstWeightOffset + i] = generator.uniform(halfWidth: firstBound)
        }
        let secondBound = Float((6.0 / Double(2 * hidden)).squareRoot())
        for i in 0..<(hidden * hidden) {
            values[layout.secondWeightOffset + i] = generator.uniform(halfWidth: secondBound)
        }
        if let preferred = configuration.preferredBaseIndex {
            values[layout.outputBiasOffset + 1 + preferred] = configuration.initialPreferredLogit
        }
        if layout.hasEmbedding {
            for i in 0..<(layerCount * layout.embeddingWidth) {
                values[layout.embeddingOffset + i] = generator.uniform(halfWidth: configuration.embeddingInitialScale)
            }
        }
    }

    /// Rebuilds φ from named tensors (as read from a safetensors file); every tensor of the layout must be
    /// present with the right shape, and no other.
    public init(configuration: L3RSConfiguration, layerCount: Int, tensors: [NamedTensor]) throws(L3RSError) {
        layout = MetaNetworkLayout(configuration: configuration, layerCount: layerCount)
        values = [Float](repeating: 0, count: layout.count)
        let entries = layout.entries
        guard tensors.count == entries.count else {
            throw .tensorMismatch("expected \(entries.map(\.name)), got \(tensors.map(\.name))")
        }
        for entry in entries {
            guard let tensor = tensors.first(where: { $0.name == entry.name }) else {
                throw .tensorMismatch("missing \(entry.name)")
            }
            guard tensor.shape == entry.shape, tensor.dtype == .f32 else {
                throw .tensorMismatch("\(entry.name) has shape \(tensor.shape), expected \(entry.shape)")
            }
            values.replaceSubrange(entry.range, with: tensor.floats())
        }
    }

    /// φ as named tensors in layout order, for saving.
    public var tensors: [NamedTensor] {
        layout.entries.map { NamedTensor(name: $0.name, shape: $0.shape, floats: Array(values[$0.range])) }
    }

    /// The table of named tensors.
    public var entries: [MetaParameterEntry] { layout.entries }
}
