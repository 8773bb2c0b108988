import Optimizers

/// The L3RS optimizer (docs/method.md §1–4): for every layer l at step k,
///
///     Δθ_l = λ_l Σ_p μ_l,p d̂_l,p,   θ_l ← θ_l − Δθ_l,   (λ_l, μ_l) from MLP_φ(features_l)
///
/// on one flat parameter buffer described by a layer table. Run it on the allreduced gradient on every rank
/// with identical φ and state, and every rank takes the identical step.
///
/// The struct holds the configuration, φ and a reusable workspace (so `step` allocates nothing after the
/// first call); everything that evolves with the inner run is in `L3RSState`, passed in. Its parts, one job
/// each: the base rules' first pass and λ, μ (`StepPreparation.swift`, with `LearnedStepRule` computing λ and
/// μ), the fused fine-tuning step (`FusedStep.swift`), the recorded step (`RecordedStep.swift`), its adjoint
/// (`StepBackward.swift`, `LearnedStepRuleAdjoint.swift`) and the truncation's meta-gradient
/// (`TruncatedUnroll.swift`).
public struct L3RSOptimizer: Sendable {
    public let configuration: L3RSConfiguration
    public let layers: [LayerSlice]
    /// n, the length of the flat parameter and gradient buffers.
    public let parameterCount: Int
    public let featureLayout: FeatureLayout
    /// φ. The meta-trainer updates it between truncations.
    public var metaParameters: MetaParameters
    /// The base rules, in configuration order, each with its adjoint (second-order meta-gradients).
    let rules: [any DifferentiableDirectionRule]
    /// features → MLP_φ → (λ, μ).
    var learnedRule: LearnedStepRule
    /// The last step's intermediate values (see `StepActivations`).
    var activations: StepActivations
    /// The fused step's buffers (see `FusedStepBuffers`).
    var buffers: FusedStepBuffers
    /// Set on the optimizer over one rank's shard (`restricted(toElements:)`): the part of each layer it holds.
    public internal(set) var shardParts: ShardLayerParts?

    /// Builds the optimizer for a layer table. `metaParameters` defaults to the initial φ. In the embedding
    /// variant a non-empty `configuration.layerNames` must match the table's names (the embeddings belong to
    /// those layers); an empty one is filled in from the table.
    public init(
        configuration: L3RSConfiguration,
        layers: [LayerSlice],
        parameterCount: Int,
        metaParameters: MetaParameters? = nil
    ) throws(L3RSError) {
        try Self.validate(layers: layers, parameterCount: parameterCount)
        guard !configuration.baseOptimizers.isEmpty else { throw .invalidConfiguration("no base optimizers") }
        guard configuration.hiddenWidth > 0, configuration.embeddingWidth > 0 else {
            throw .invalidConfiguration("hidden and embedding widths must be positive")
        }
        if configuration.directionScale == .adam && configuration.preferredBaseIndex == nil {
            throw .invalidConfiguration("directionScale adam scales every direction to Adam's RMS, but the base optimizers (\(configuration.baseOptimizers.map(\.rawValue).joined(separator: ", "))) include neither adam nor adamw")
        }
        guard configuration.baseWarmupFraction >= 0 && configuration.baseWarmupFraction < 1 else {
            throw .invalidConfiguration("baseWarmupFraction must be in [0, 1), got \(configuration.baseWarmupFraction)")
        }
        var configuration = configuration
        let names = layers.map(\.name)
        if configuration.layerNames.isEmpty {
            configuration.layerNames = names
        } else if configuration.variant == .layerEmbedding && configuration.layerNames != names {
            throw .invalidLayerTable("the layer embeddings were made for other layers")
        }
        let φ = metaParameters ?? MetaParameters(initialFor: configuration, layerCount: layers.count)
        guard φ.layout == MetaNetworkLayout(configuration: configuration, layerCount: layers.count) else {
            throw .tensorMismatch("φ's layout does not match the configuration and layer count")
        }
        self.configuration = configuration
        self.layers = layers
        self.parameterCount = parameterCount
        self.metaParameters = φ
        featureLayout = FeatureLayout(configuration: configuration)
        rules = configuration.baseOptimizers.map { $0.makeDifferentiableRule() }
        learnedRule = LearnedStepRule(
            featureLayout: featureLayout, layers: layers, baseCount: rules.count,
            baseLearningRate: configuration.baseLearningRate, stepSchedule: configuration.stepSchedule,
            learnedOutputs: configuration.learnedOutputs)
        activations = StepActivations(
            layerCount: layers.count, baseCount: configuration.baseCount,
            featureCount: featureLayout.count, hiddenWidth: configuration.hiddenWidth)
        buffers = FusedStepBuffers(rules: rules)
    }

    /// A non-empty table of layers that do not overlap and lie inside the n parameters.
    private static func validate(layers: [LayerSlice], parameterCount: Int) throws(L3RSError) {
        guard !layers.isEmpty else { throw .invalidLayerTable("no layers") }
        let sorted = layers.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.range.upperBound > next.offset {
            throw .invalidLayerTable("\(previous.name) overlaps \(next.name)")
        }
        if let last = sorted.last, last.range.upperBound > parameterCount {
            throw .invalidLayerTable("\(last.name) ends at \(last.range.upperBound) > parameter count \(parameterCount)")
        }
    }

    /// The state before step 0: fresh base-optimizer states and zero EMAs.
    public func makeState() -> L3RSState {
        L3RSState(baseStates: rules.map { $0.makeState(count: parameterCount) }, layerCount: layers.count)
    }

    /// One L3RS step: advances `state` on the (allreduced) `gradient` and global training `loss` of the
    /// current parameters, and updates `parameters` in place.
    public mutating func step(
        parameters: UnsafeMutableBufferPointer<Float>,
        gradient: UnsafeBufferPointer<Float>,
        loss: Float,
        state: inout L3RSState
    ) {
        prepare(parameters: UnsafeBufferPointer(parameters), gradient: gradient, loss: loss, state: &state,
                recordsDirections: false)
        applyFusedUpdate(to: parameters, gradient: gradient, state: state)
    }

    /// Array convenience for tests and small callers.
    public mutating func step(parameters: inout [Float], gradient: [Float], loss: Float, state: inout L3RSState) {
        gradient.withUnsafeBufferPointer { g in
            parameters.withUnsafeMutableBufferPointer { θ in
                step(parameters: θ, gradient: g, loss: loss, state: &state)
            }
        }
    }

    /// λ_l of the last step, per layer (for the λ-over-time plots of docs/method.md §7).
    public var lastStepSizes: [Float] { activations.stepSizes }
    /// μ_l,p of the last step, row-major [layer, base].
    public var lastMixingWeights: [Float] { activations.mixingWeights }
    /// Features that were non-finite on the last step (replaced by 0).
    public var lastNonFiniteFeatureCount: Int { activations.nonFiniteFeatures }
}
