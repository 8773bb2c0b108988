import Checkpoints
import Foundation
import LearnedOptimizer

/// A meta-trained L3RS optimizer on disk: φ (MLP weights and, in the embedding variant, the layer
/// embeddings) as safetensors, with the `L3RSConfiguration` that fixes its meaning (base optimizers, λ0,
/// variant, widths, the layer names it was trained on) as JSON in the metadata. The file is all
/// `finetune --optimizer l3rs` needs, and PyTorch tools can read it too.
public enum LearnedOptimizerFile {
    /// The metadata key of the configuration JSON.
    public static let configurationKey = "l3rs.configuration"
    /// The metadata key of the number of layers φ was shaped for (the embedding's rows).
    public static let layerCountKey = "l3rs.layer_count"
    /// The metadata key of the meta-training horizon H: the inner-run length φ was meta-trained on, past
    /// which its step sizes are extrapolation (`l3rs finetune` warns).
    public static let horizonKey = "l3rs.horizon"

    /// The horizon a file records; nil for files written before it was recorded.
    public static func horizon(of path: String) throws -> Int? {
        Int(try Safetensors.read(path).metadata[horizonKey] ?? "")
    }

    /// Writes φ and its configuration (atomically); `extraMetadata` records provenance (meta-step, run).
    public static func save(_ optimizer: L3RSOptimizer, to path: String, extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        metadata[configurationKey] = try optimizer.configuration.encodedJSON()
        metadata[layerCountKey] = String(optimizer.layers.count)
        try Safetensors.write(TensorFile(tensors: optimizer.metaParameters.tensors, metadata: metadata), to: path,
                                  checksums: true)
    }

    /// Reads a file written by `save` and builds the optimizer for `layers`. An embedding-variant file made
    /// for another layer table is refused with both tables named; the embedding-free variant applies to any.
    public static func load(_ path: String, layers: [LayerSlice], parameterCount: Int) throws -> L3RSOptimizer {
        let file = try Safetensors.read(path)
        try ModelWeights.requireFinite(file, source: path)
        guard let json = file.metadata[configurationKey] else {
            throw TrainingError.checkpoint("\(path) is not a learned-optimizer file: its metadata has no '\(configurationKey)'")
        }
        var configuration: L3RSConfiguration
        do {
            configuration = try L3RSConfiguration.decode(json: json)
        } catch {
            throw TrainingError.checkpoint("\(path): its configuration (metadata '\(configurationKey)') does not decode: \(error)")
        }
        try requireFeatureSetFits(file, configuration: configuration, path: path)
        let names = layers.map(\.name)
        let storedLayerCount = Int(file.metadata[layerCountKey] ?? "") ?? configuration.layerNames.count
        switch configuration.variant {
        case .layerEmbedding:
            guard configuration.layerNames == names else {
                throw TrainingError.shapeMismatch("""
                    \(path) was meta-trained with layer embeddings for another layer table \
                    (\(configuration.layerNames.count) layers: \(summary(configuration.layerNames))); \
                    this model has \(names.count) layers: \(summary(names)). Only the embedding-free variant \
                    (kindAndDepth) applies to another backbone.
                    """)
            }
        case .kindAndDepth:
            // φ has no per-layer tensor, so any table fits; record the one it is now applied to.
            configuration.layerNames = names
        }
        let φ: MetaParameters
        do {
            φ = try MetaParameters(configuration: configuration,
                                   layerCount: configuration.variant == .layerEmbedding ? storedLayerCount : layers.count,
                                   tensors: file.tensors)
            return try L3RSOptimizer(configuration: configuration, layers: layers, parameterCount: parameterCount,
                                     metaParameters: φ)
        } catch {
            throw TrainingError.checkpoint("\(path): \(error)")
        }
    }

    /// φ's first layer has one column per feature of the feature set the file records (files without one
    /// are v1); a file whose φ was made for another feature set is refused with both counts named.
    private static func requireFeatureSetFits(_ file: TensorFile, configuration: L3RSConfiguration, path: String) throws {
        let expected = FeatureLayout(configuration: configuration).count
        guard let first = file.tensors.first(where: { $0.name == "mlp.0.weight" }), first.shape.count == 2,
              first.shape[1] != expected else { return }
        throw TrainingError.shapeMismatch("""
            \(path) records feature set \(configuration.featureSet.rawValue) (\(expected) MLP inputs), but its \
            mlp.0.weight reads \(first.shape[1]) features: its φ was made for another feature set.
            """)
    }

    private static func summary(_ names: [String]) -> String {
        names.count <= 6 ? names.joined(separator: ", ")
            : (names.prefix(3) + ["…"] + names.suffix(2)).joined(separator: ", ")
    }
}
