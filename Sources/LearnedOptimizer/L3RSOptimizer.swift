import Foundation
import Optimizers

/// The L3RS optimizer (method.md §1–4): for every layer l at step k,
///
///     Δθ_l = λ_l Σ_p μ_l,p d̂_l,p,   θ_l ← θ_l − Δθ_l,   (λ_l, μ_l) from MLP_φ(features_l)
///
/// on one flat parameter buffer described by a layer table. Run it on the allreduced gradient on every rank
/// with identical φ and state, and every rank takes the identical step.
///
/// The struct holds the configuration, φ and a reusable workspace (so `step` allocates nothing after the
/// first call); everything that evolves with the inner run is in `L3RSState`, passed in.
public struct L3RSOptimizer: Sendable {
    public let configuration: L3RSConfiguration
    public let layers: [LayerSlice]
    /// n, the length of the flat parameter and gradient buffers.
    public let parameterCount: Int
    public let featureLayout: FeatureLayout
    /// φ. The meta-trainer updates it between truncations.
    public var metaParameters: MetaParameters
    /// The base rules, in configuration order.
    let rules: [any DirectionRule]
    var activations: StepActivations
    /// Scratch for one base rule's direction before normalisation.
    var rawDirection: [Float]

    /// Builds the optimizer for a layer table. `metaParameters` defaults to the initial φ. In the embedding
    /// variant a non-empty `configuration.layerNames` must match the table's names (the embeddings belong to
    /// those layers); an empty one is filled in from the table.
    public init(
        configuration: L3RSConfiguration,
        layers: [LayerSlice],
        parameterCount: Int,
        metaParameters: MetaParameters? = nil
    ) throws(L3RSError) {
        guard !layers.isEmpty else { throw .invalidLayerTable("no layers") }
        let sorted = layers.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.range.upperBound > next.offset {
            throw .invalidLayerTable("\(previous.name) overlaps \(next.name)")
        }
        if let last = sorted.last, last.range.upperBound > parameterCount {
            throw .invalidLayerTable("\(last.name) ends at \(last.range.upperBound) > parameter count \(parameterCount)")
        }
        guard !configuration.baseOptimizers.isEmpty else { throw .invalidConfiguration("no base optimizers") }
        guard configuration.hiddenWidth > 0, configuration.embeddingWidth > 0 else {
            throw .invalidConfiguration("hidden and embedding widths must be positive")
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
        featureLayout = FeatureLayout(variant: configuration.variant, embeddingWidth: configuration.embeddingWidth)
        rules = configuration.baseOptimizers.map { $0.makeRule() }
        activations = StepActivations(
            parameterCount: parameterCount, layerCount: layers.count, baseCount: configuration.baseCount,
            featureCount: featureLayout.count, hiddenWidth: configuration.hiddenWidth)
        rawDirection = [Float](repeating: 0, count: parameterCount)
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
        prepareStep(parameters: UnsafeBufferPointer(parameters), gradient: gradient, loss: loss, state: &state)
        applyUpdate(to: parameters)
    }

    /// Array convenience for tests and small callers.
    public mutating func step(parameters: inout [Float], gradient: [Float], loss: Float, state: inout L3RSState) {
        gradient.withUnsafeBufferPointer { g in
            parameters.withUnsafeMutableBufferPointer { θ in
                step(parameters: θ, gradient: g, loss: loss, state: &state)
            }
        }
    }

    /// λ_l of the last step, per layer (for the λ-over-time plots of method.md §7).
    public var lastStepSizes: [Float] { activations.stepSizes }
    /// μ_l,p of the last step, row-major [layer, base].
    public var lastMixingWeights: [Float] { activations.mixingWeights }
    /// Features that were non-finite on the last step (replaced by 0).
    public var lastNonFiniteFeatureCount: Int { activations.nonFiniteFeatures }

    /// Everything of a step except changing θ: base directions and their normalisation, statistics and
    /// EMAs, features, the MLP, λ and μ, all into `activations`; `state` advances to k + 1.
    mutating func prepareStep(
        parameters θ: UnsafeBufferPointer<Float>,
        gradient g: UnsafeBufferPointer<Float>,
        loss: Float,
        state: inout L3RSState
    ) {
        precondition(θ.count == parameterCount && g.count == parameterCount,
                     "L3RS step: buffers have \(θ.count) and \(g.count) elements, expected \(parameterCount)")
        precondition(state.baseStates.count == rules.count, "L3RS step: state has the wrong number of base states")
        // Move the workspace out of self so it is uniquely referenced (no copy-on-write) while self's other
        // properties are read.
        var work = StepActivations()
        swap(&work, &activations)
        var raw = [Float]()
        swap(&raw, &rawDirection)
        defer {
            swap(&work, &activations)
            swap(&raw, &rawDirection)
        }
        let layerCount = layers.count
        let baseCount = rules.count
        let k = state.step
        work.step = k
        work.loss = loss

        for (l, layer) in layers.enumerated() {
            work.parameterRMS[l] = Float(LayerStatistics.rms(θ, layer.range))
            work.gradientRMS[l] = Float(LayerStatistics.rms(g, layer.range))
        }
        if k == 0 {
            state.initialParameterRMS = work.parameterRMS
            state.initialGradientRMS = work.gradientRMS
            state.initialLoss = loss
        }

        // Base directions, normalised per layer to unit RMS.
        raw.withUnsafeMutableBufferPointer { d in
            work.normalisedDirections.withUnsafeMutableBufferPointer { normalised in
                for p in 0..<baseCount {
                    rules[p].direction(gradient: g, state: &state.baseStates[p], into: d)
                    for (l, layer) in layers.enumerated() {
                        let rms = LayerStatistics.rms(UnsafeBufferPointer(d), layer.range)
                        work.directionRMS[p * layerCount + l] = Float(rms)
                        let denominator = Float(rms + LayerStatistics.normalisationEpsilon)
                        // Through plain pointers: indexing with `p·n + i` carries an overflow check per element,
                        // which kept this division loop scalar.
                        let source = d.baseAddress! + layer.offset
                        let target = normalised.baseAddress! + p * parameterCount + layer.offset
                        for j in 0..<layer.count {
                            target[j] = source[j] / denominator
                        }
                    }
                }
            }
        }

        // EMAs of the relative log-statistics.
        let decays = FeatureLayout.emaDecays
        let lossRelative = Float(LayerStatistics.logScale(loss) - LayerStatistics.logScale(state.initialLoss))
        for (d, γ) in decays.enumerated() {
            state.lossAverages[d] = γ * state.lossAverages[d] + (1 - γ) * lossRelative
        }
        for l in 0..<layerCount {
            let parameterRelative = Float(LayerStatistics.logScale(work.parameterRMS[l])
                                          - LayerStatistics.logScale(state.initialParameterRMS[l]))
            let gradientRelative = Float(LayerStatistics.logScale(work.gradientRMS[l])
                                         - LayerStatistics.logScale(state.initialGradientRMS[l]))
            for (d, γ) in decays.enumerated() {
                let index = d * layerCount + l
                state.parameterRMSAverages[index] = γ * state.parameterRMSAverages[index] + (1 - γ) * parameterRelative
                state.gradientRMSAverages[index] = γ * state.gradientRMSAverages[index] + (1 - γ) * gradientRelative
            }
        }

        writeFeatures(into: &work, state: state)

        metaParameters.values.withUnsafeBufferPointer { φ in
            work.features.withUnsafeBufferPointer { features in
                work.hidden1.withUnsafeMutableBufferPointer { h1 in
                    work.hidden2.withUnsafeMutableBufferPointer { h2 in
                        work.outputs.withUnsafeMutableBufferPointer { outputs in
                            MetaNetwork.forward(parameters: φ, layout: metaParameters.layout, features: features,
                                                hidden1: h1, hidden2: h2, outputs: outputs)
                        }
                    }
                }
            }
        }

        // λ = λ0·exp(clip(o_λ, −8, 8)), μ = softmax(o_μ), both per layer; an output that is not learned
        // (ablations) is fixed at λ0, or at the uniform mix.
        let outputCount = 1 + baseCount
        let λ0 = Double(configuration.baseLearningRate)
        let learned = configuration.learnedOutputs
        for l in 0..<layerCount {
            let row = l * outputCount
            let logStep = min(max(Double(work.outputs[row]), -StepOutputs.logStepBound), StepOutputs.logStepBound)
            work.stepSizes[l] = learned.learnsStepSize ? Float(λ0 * exp(logStep)) : Float(λ0)
            guard learned.learnsMixing else {
                for p in 0..<baseCount { work.mixingWeights[l * baseCount + p] = 1 / Float(baseCount) }
                continue
            }
            var largest = -Double.infinity
            for p in 0..<baseCount {
                largest = max(largest, Double(work.outputs[row + 1 + p]))
            }
            var total = 0.0
            for p in 0..<baseCount {
                total += exp(Double(work.outputs[row + 1 + p]) - largest)
            }
            for p in 0..<baseCount {
                work.mixingWeights[l * baseCount + p] = Float(exp(Double(work.outputs[row + 1 + p]) - largest) / total)
            }
        }
        state.step = k + 1
        state.nonFiniteFeatureCount += work.nonFiniteFeatures
    }

    /// θ_l ← θ_l − λ_l Σ_p μ_l,p d̂_l,p with the λ, μ and d̂ of the last `prepareStep`.
    ///
    /// The mixture is formed per element in base order, (0 + μ_0 d̂_0) + μ_1 d̂_1 + …, the order of the
    /// element-at-a-time definition, so the result is bit-identical to it. With up to three bases (the
    /// configurations in use) it is one pass over the directions and θ; more bases accumulate base by base in
    /// the `rawDirection` scratch (free after `prepareStep`).
    mutating func applyUpdate(to θ: UnsafeMutableBufferPointer<Float>) {
        let baseCount = rules.count
        let n = parameterCount
        let work = activations
        rawDirection.withUnsafeMutableBufferPointer { combinedBuffer in
            work.normalisedDirections.withUnsafeBufferPointer { normalised in
                let combined = combinedBuffer.baseAddress!, d = normalised.baseAddress!, target = θ.baseAddress!
                for (l, layer) in layers.enumerated() {
                    let λ = work.stepSizes[l]
                    let lower = layer.range.lowerBound, count = layer.range.count
                    let parameters = target + lower
                    let μ = { (p: Int) in work.mixingWeights[l * baseCount + p] }
                    let direction = { (p: Int) in UnsafePointer(d + p * n + lower) }
                    switch baseCount {
                    case 1:
                        let (μ0, d0) = (μ(0), direction(0))
                        for i in 0..<count { parameters[i] -= λ * (0 + μ0 * d0[i]) }
                    case 2:
                        let (μ0, d0, μ1, d1) = (μ(0), direction(0), μ(1), direction(1))
                        for i in 0..<count { parameters[i] -= λ * ((0 + μ0 * d0[i]) + μ1 * d1[i]) }
                    case 3:
                        let (μ0, d0, μ1, d1, μ2, d2) = (μ(0), direction(0), μ(1), direction(1), μ(2), direction(2))
                        for i in 0..<count { parameters[i] -= λ * (((0 + μ0 * d0[i]) + μ1 * d1[i]) + μ2 * d2[i]) }
                    default:
                        let mixture = combined + lower
                        mixture.update(repeating: 0, count: count)
                        for p in 0..<baseCount {
                            let (μp, dp) = (μ(p), direction(p))
                            for i in 0..<count { mixture[i] += μp * dp[i] }
                        }
                        for i in 0..<count { parameters[i] -= λ * mixture[i] }
                    }
                }
            }
        }
    }

    /// Fills the raw and the clipped feature matrices for the current state (its EMAs already advanced).
    private func writeFeatures(into work: inout StepActivations, state: L3RSState) {
        let layout = featureLayout
        let featureCount = layout.count
        let layerCount = layers.count
        let decays = FeatureLayout.emaDecays.count
        let weight = FeatureLayout.absoluteScaleWeight
        let lossScale = Float(weight * LayerStatistics.logScale(state.initialLoss))
        let φ = metaParameters
        for (l, layer) in layers.enumerated() {
            let row = l * featureCount
            for d in 0..<decays {
                work.rawFeatures[row + layout.averageIndex(.parameterRMS, decayIndex: d)] =
                    state.parameterRMSAverages[d * layerCount + l]
                work.rawFeatures[row + layout.averageIndex(.gradientRMS, decayIndex: d)] =
                    state.gradientRMSAverages[d * layerCount + l]
                work.rawFeatures[row + layout.averageIndex(.trainingLoss, decayIndex: d)] = state.lossAverages[d]
            }
            work.rawFeatures[row + layout.absoluteScaleIndex(.parameterRMS)] =
                Float(weight * LayerStatistics.logScale(state.initialParameterRMS[l]))
            work.rawFeatures[row + layout.absoluteScaleIndex(.gradientRMS)] =
                Float(weight * LayerStatistics.logScale(state.initialGradientRMS[l]))
            work.rawFeatures[row + layout.absoluteScaleIndex(.trainingLoss)] = lossScale
            for (j, τ) in FeatureLayout.timeScales.enumerated() {
                work.rawFeatures[row + layout.timeIndex(j)] = Float(tanh(Double(work.step) / Double(τ)))
            }
            let identity = row + layout.identityStart
            switch layout.variant {
            case .layerEmbedding:
                let start = φ.layout.embeddingOffset + l * layout.embeddingWidth
                for e in 0..<layout.embeddingWidth {
                    work.rawFeatures[identity + e] = φ.values[start + e]
                }
            case .kindAndDepth:
                for kind in LayerKind.allCases {
                    work.rawFeatures[identity + kind.oneHotIndex] = kind == layer.kind ? 1 : 0
                }
                work.rawFeatures[identity + LayerKind.allCases.count] = layer.relativeDepth
            }
        }
        var nonFinite = 0
        let bound = FeatureLayout.clipBound
        for i in 0..<(layerCount * featureCount) {
            let value = work.rawFeatures[i]
            if value.isFinite {
                work.features[i] = min(max(value, -bound), bound)
            } else {
                work.features[i] = 0
                nonFinite += 1
            }
        }
        work.nonFiniteFeatures = nonFinite
    }
}

/// Constants of the map from MLP outputs to (λ, μ).
enum StepOutputs {
    /// o_λ is clipped to [−8, 8] before the exp, bounding λ to λ0·e^±8.
    static let logStepBound: Double = 8
}
