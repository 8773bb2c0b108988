import Seeding

/// One row of a sequential architecture table. The ccexam networks are written as such tables so their
/// PyTorch names (`features.0`, `classifier.2`, …) sit in one place per network and are easy to correct.
public enum LayerSpec: Sendable, Equatable {
    case conv(name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int, padding: Int)
    case batchNorm(name: String, channels: Int)
    case linear(name: String, inputFeatures: Int, outputFeatures: Int)
    case relu
    case maxPool(kernelSize: Int)
    case dropout(probability: Float)
    case flatten

    /// Builds the layer, registering its tensors with `registry`; `seed` seeds a Dropout's stream.
    func makeLayer(registry: ParameterRegistry, seed: UInt64) -> any Layer {
        switch self {
        case let .conv(name, inputChannels, outputChannels, kernelSize, padding):
            return Conv2d(name: name, inputChannels: inputChannels, outputChannels: outputChannels,
                          kernelSize: kernelSize, padding: padding, registry: registry)
        case let .batchNorm(name, channels):
            return BatchNorm2d(name: name, channels: channels, registry: registry)
        case let .linear(name, inputFeatures, outputFeatures):
            return Linear(name: name, inputFeatures: inputFeatures, outputFeatures: outputFeatures, registry: registry)
        case .relu:
            return ReLU()
        case let .maxPool(kernelSize):
            return MaxPool2d(kernelSize: kernelSize)
        case let .dropout(probability):
            return Dropout(probability: probability, seed: seed)
        case .flatten:
            return Flatten()
        }
    }

    /// The PyTorch module name of a Linear row (nil for other rows).
    var linearName: String? {
        if case let .linear(name, _, _) = self { return name }
        return nil
    }
}

extension Model {
    /// Builds a sequential model from a table; the head is the last Linear row.
    public convenience init(name: String, table: [LayerSpec], inputShape: [Int], classCount: Int, seed: UInt64) {
        let registry = ParameterRegistry()
        let layers = table.enumerated().map { index, spec in
            spec.makeLayer(registry: registry, seed: SplitMix64.derivedSeed(seed, stream: UInt64(index)))
        }
        // A conv followed by a ReLU applies it in its own passes (`Conv2d.fusesReLU`): one pass over the
        // activation fewer each way. The ReLU row stays (names and layer indices do not move) and passes through.
        for index in table.indices.dropLast() where table[index + 1] == .relu {
            guard let conv = layers[index] as? Conv2d, let relu = layers[index + 1] as? ReLU else { continue }
            conv.fusesReLU = true
            relu.passesThrough = true
        }
        guard let head = table.last(where: { $0.linearName != nil })?.linearName else {
            preconditionFailure("\(name): a classifier needs a Linear head")
        }
        self.init(name: name, layers: layers, registry: registry, inputShape: inputShape, classCount: classCount,
                  headParameterNames: [head + ".weight", head + ".bias"], seed: seed)
    }
}
