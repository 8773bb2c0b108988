import Seeding

/// A sequential network together with its parameter store (trainable tensors, flat, with gradients) and its
/// buffer store (BatchNorm running statistics), both allocated once when the model is built.
public final class Model {
    /// The architecture's name, for logs and checkpoints.
    public let name: String
    public let layers: [any Layer]
    public let parameters: ParameterStore
    public let buffers: ParameterStore
    /// One example's shape, (C, H, W).
    public let inputShape: [Int]
    public let classCount: Int
    /// PyTorch names of the classification head (the last Linear's weight and bias), so a trainer can
    /// re-initialise it for a new label set and give it its own learning rate.
    public let headParameterNames: [String]
    /// For each layer, the lowest `parameters.entries` index among the tensors it owns (nil: none).
    private let firstEntryIndex: [Int?]

    /// Allocates `registry` (every layer must already have registered with it) and initialises all
    /// tensors from `seed` (see `ParameterInitializer`); dropout streams are seeded from it too.
    public init(
        name: String, layers: [any Layer], registry: ParameterRegistry,
        inputShape: [Int], classCount: Int, headParameterNames: [String], seed: UInt64
    ) {
        self.name = name
        self.layers = layers
        parameters = registry.parameters
        buffers = registry.buffers
        self.inputShape = inputShape
        self.classCount = classCount
        self.headParameterNames = headParameterNames
        registry.allocate()
        let indexByOffset = Dictionary(registry.parameters.entries.enumerated().map { ($1.offset, $0) }, uniquingKeysWith: min)
        firstEntryIndex = layers.map { layer in layer.parameterEntries.compactMap { indexByOffset[$0.offset] }.min() }
        for head in headParameterNames {
            precondition(registry.parameters.entry(named: head) != nil, "unknown head parameter \(head)")
        }
        initialize(seed: seed)
    }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.count }

    /// Entries of the classification head, in table order.
    public var headEntries: [ParameterEntry] {
        parameters.entries.filter { headParameterNames.contains($0.name) }
    }

    /// x: (N, C, H, W) → logits (N, classCount). In training mode BatchNorm uses batch statistics (and
    /// updates its running statistics) and Dropout drops.
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == inputShape, "\(name) expects (N, \(inputShape)), got \(x.shape)")
        var activation = x
        for layer in layers { activation = layer.forward(activation, training: training) }
        return activation
    }

    /// Back-propagates ∂L/∂logits through every layer, ACCUMULATING into `parameters.gradients`; returns
    /// ∂L/∂input. Call `parameters.zeroGradients()` first unless gradients should add up.
    @discardableResult
    public func backward(_ gradLogits: Tensor) -> Tensor {
        backward(gradLogits, inputGradient: true) { _ in }!
    }

    /// `backward`, calling `parametersFinal(e)` as soon as the gradients of every entry with table index ≥ e
    /// (in `parameters.entries`) are final, from the head down to 0 (each index at most once, 0 last unless
    /// the first layers own no parameters). This is the hook that lets a bucketed allreduce start the head's
    /// buckets while earlier layers are still being differentiated.
    @discardableResult
    public func backward(_ gradLogits: Tensor, parametersFinal: (Int) throws -> Void) rethrows -> Tensor {
        try backward(gradLogits, inputGradient: true, parametersFinal: parametersFinal)!
    }

    /// The parameter gradients only (what training needs): like `backward(_:parametersFinal:)`, but no
    /// layer computes an input gradient that nobody reads. The first layer that owns parameters skips its
    /// ∂L/∂input (for a convolution or linear layer a whole matrix product), and the parameterless layers
    /// in front of it (a Flatten) are not run backward at all. The gradients are identical.
    public func accumulateParameterGradients(_ gradLogits: Tensor, parametersFinal: (Int) throws -> Void) rethrows {
        try backward(gradLogits, inputGradient: false, parametersFinal: parametersFinal)
    }

    /// `accumulateParameterGradients` without the hook.
    public func accumulateParameterGradients(_ gradLogits: Tensor) {
        accumulateParameterGradients(gradLogits) { _ in }
    }

    @discardableResult
    private func backward(_ gradLogits: Tensor, inputGradient: Bool, parametersFinal: (Int) throws -> Void) rethrows -> Tensor? {
        var gradient = gradLogits
        var lowestFinal = parameters.entries.count
        let firstOwner = inputGradient ? 0 : firstEntryIndex.firstIndex { $0 != nil } ?? layers.count
        for index in layers.indices.reversed() where index >= firstOwner {
            let needsInput = inputGradient || index > firstOwner
            let next = layers[index].backward(gradient, inputGradient: needsInput)
            if let first = firstEntryIndex[index], first < lowestFinal {
                lowestFinal = first
                try parametersFinal(first)
            }
            guard let next else {
                precondition(!needsInput, "a layer returned no input gradient although it was asked for one")
                break
            }
            gradient = next
        }
        return inputGradient ? gradient : nil
    }

    /// Re-draws every parameter and resets every buffer, PyTorch-style, from `seed`; reseeds dropout.
    public func initialize(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        ParameterInitializer.initialize(parameters.entries, in: parameters, using: &generator)
        ParameterInitializer.initialize(buffers.entries, in: buffers, using: &generator)
        reseedStochasticLayers(seed: SplitMix64.derivedSeed(seed, stream: 1))
    }

    /// Re-draws only the named parameters (for example `headParameterNames`) from `seed`, in table order.
    public func reinitialize(parameterNames names: [String], seed: UInt64) {
        for name in names { precondition(parameters.entry(named: name) != nil, "unknown parameter \(name)") }
        var generator = SplitMix64(seed: seed)
        ParameterInitializer.initialize(parameters.entries.filter { names.contains($0.name) }, in: parameters, using: &generator)
    }

    /// Every BatchNorm layer, sub-layers of blocks included, in network order.
    public var batchNormLayers: [BatchNorm2d] {
        var found: [BatchNorm2d] = []
        func visit(_ layer: any Layer) {
            if let norm = layer as? BatchNorm2d { found.append(norm) }
            if let composite = layer as? any CompositeLayer { composite.sublayers.forEach(visit) }
        }
        layers.forEach(visit)
        return found
    }

    /// Sets how every BatchNorm layer normalises in training mode, and what sums its statistics over ranks in
    /// `sync` mode (nil on one rank).
    public func configureBatchNorm(_ mode: BatchNormMode, reducer: (any BatchStatisticsReducer)? = nil) {
        for norm in batchNormLayers {
            norm.mode = mode
            norm.statisticsReducer = reducer
        }
    }

    /// Restarts every Dropout's random stream, each from its own seed derived from `seed` and its position,
    /// so the same seed replays the same masks.
    public func reseedStochasticLayers(seed: UInt64) {
        var index: UInt64 = 0
        func visit(_ layer: any Layer) {
            if let stochastic = layer as? any StochasticLayer {
                stochastic.reseed(SplitMix64.derivedSeed(seed, stream: index))
                index += 1
            }
            if let composite = layer as? any CompositeLayer { composite.sublayers.forEach(visit) }
        }
        layers.forEach(visit)
    }
}
