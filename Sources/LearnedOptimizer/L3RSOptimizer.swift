import CVectorKernels
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
    /// The base rules, in configuration order, each with its adjoint (second-order meta-gradients).
    let rules: [any DifferentiableDirectionRule]
    var activations: StepActivations
    /// The fused step's buffers (see `FusedStepBuffers`).
    var buffers: FusedStepBuffers

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
        rules = configuration.baseOptimizers.map { $0.makeDifferentiableRule() }
        activations = StepActivations(
            layerCount: layers.count, baseCount: configuration.baseCount,
            featureCount: featureLayout.count, hiddenWidth: configuration.hiddenWidth)
        buffers = FusedStepBuffers(rules: rules)
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

    /// λ_l of the last step, per layer (for the λ-over-time plots of method.md §7).
    public var lastStepSizes: [Float] { activations.stepSizes }
    /// μ_l,p of the last step, row-major [layer, base].
    public var lastMixingWeights: [Float] { activations.mixingWeights }
    /// Features that were non-finite on the last step (replaced by 0).
    public var lastNonFiniteFeatureCount: Int { activations.nonFiniteFeatures }

    /// Everything of a step except changing θ: base directions and their normalisation, statistics and
    /// EMAs, features, the MLP, λ and μ, all into `activations` (with the directions d and their scales s,
    /// d̂ = s·d, which the reverse pass needs); `state` advances to k + 1. `applyUpdate` then takes the step.
    mutating func prepareStep(
        parameters θ: UnsafeBufferPointer<Float>,
        gradient g: UnsafeBufferPointer<Float>,
        loss: Float,
        state: inout L3RSState
    ) {
        prepare(parameters: θ, gradient: g, loss: loss, state: &state, recordsDirections: true)
    }

    /// `prepareStep`; with `recordsDirections` false the directions are not kept in
    /// `activations.directions` but left for `applyFusedUpdate`: those its rule can find again
    /// (`DirectionSource`) are dropped, the others stay in `buffers.storedDirections`.
    ///
    /// One pass over each layer in chunks of `FusedStepBuffers.chunkLength`: per chunk, the statistics of θ
    /// and g, and every rule's `advance` with the sums of squares of its direction, while the chunk of g and
    /// of each state is in L1.
    private mutating func prepare(
        parameters θ: UnsafeBufferPointer<Float>,
        gradient g: UnsafeBufferPointer<Float>,
        loss: Float,
        state: inout L3RSState,
        recordsDirections: Bool
    ) {
        precondition(θ.count == parameterCount && g.count == parameterCount,
                     "L3RS step: buffers have \(θ.count) and \(g.count) elements, expected \(parameterCount)")
        precondition(state.baseStates.count == rules.count, "L3RS step: state has the wrong number of base states")
        // Move the workspace out of self so it is uniquely referenced (no copy-on-write) while self's other
        // properties are read.
        var work = StepActivations()
        swap(&work, &activations)
        var buffers = FusedStepBuffers()
        swap(&buffers, &self.buffers)
        defer {
            swap(&work, &activations)
            swap(&buffers, &self.buffers)
        }
        let layerCount = layers.count
        let baseCount = rules.count
        let n = parameterCount
        let k = state.step
        work.step = k
        work.loss = loss
        if recordsDirections {
            // A new buffer every step: the previous one usually belongs to a StepRecord now, and writing into
            // it would first copy all P·n floats (copy-on-write) only to overwrite them.
            work.directions = Self.uninitialisedDirections(baseCount: baseCount, count: n, layers: layers)
        } else {
            // Nothing recorded: drop a record step's directions (P·n floats), so that no copy-on-write of a
            // buffer a StepRecord still shares can happen here either.
            work.directions = []
            if buffers.storedDirections.count != buffers.storedRuleCount * n {
                buffers.storedDirections = [Float](repeating: 0, count: buffers.storedRuleCount * n)
            }
        }

        let chunkLength = FusedStepBuffers.chunkLength
        work.directions.withUnsafeMutableBufferPointer { recorded in
            buffers.storedDirections.withUnsafeMutableBufferPointer { stored in
                buffers.chunks.withUnsafeMutableBufferPointer { chunks in
                    for (l, layer) in layers.enumerated() {
                        buffers.parameterSum.reset()
                        buffers.gradientSum.reset()
                        for p in 0..<baseCount { buffers.directionSums[p].reset() }
                        for start in stride(from: layer.range.lowerBound, to: layer.range.upperBound, by: chunkLength) {
                            let range = start..<min(start + chunkLength, layer.range.upperBound)
                            buffers.parameterSum.add(θ.baseAddress! + start, count: range.count)
                            buffers.gradientSum.add(g.baseAddress! + start, count: range.count)
                            for p in 0..<baseCount {
                                // SGD: d = g, already summed, and read from g by the fused update.
                                if buffers.sources[p] == .gradient && !recordsDirections { continue }
                                let target: UnsafeMutablePointer<Float>
                                if recordsDirections {
                                    target = recorded.baseAddress! + p * n + start
                                } else if let slot = buffers.storageSlot[p] {
                                    target = stored.baseAddress! + slot * n + start
                                } else {
                                    target = chunks.baseAddress! + p * chunkLength
                                }
                                rules[p].advance(range, gradient: g, state: &state.baseStates[p], into: target)
                                buffers.directionSums[p].add(target, count: range.count)
                            }
                        }
                        work.parameterRMS[l] = Float(buffers.parameterSum.rms(count: layer.count))
                        work.gradientRMS[l] = Float(buffers.gradientSum.rms(count: layer.count))
                        for p in 0..<baseCount {
                            let sum = buffers.sources[p] == .gradient ? buffers.gradientSum : buffers.directionSums[p]
                            let rms = sum.rms(count: layer.count)
                            work.directionRMS[p * layerCount + l] = Float(rms)
                            work.directionScales[l * baseCount + p] =
                                Float(1 / (rms + LayerStatistics.normalisationEpsilon))
                        }
                    }
                }
            }
        }
        for p in 0..<baseCount { state.baseStates[p].step += 1 }
        if k == 0 {
            state.initialParameterRMS = work.parameterRMS
            state.initialGradientRMS = work.gradientRMS
            state.initialLoss = loss
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
        for i in 0..<(layerCount * baseCount) {
            work.directionWeights[i] = work.mixingWeights[i] * work.directionScales[i]
        }
        state.step = k + 1
        state.nonFiniteFeatureCount += work.nonFiniteFeatures
    }

    /// P·n floats for the recorded directions, left unwritten where the layers lie (the first pass writes
    /// every element there) and zero in the gaps between layers.
    private static func uninitialisedDirections(baseCount: Int, count n: Int, layers: [LayerSlice]) -> [Float] {
        let sorted = layers.sorted { $0.offset < $1.offset }
        return [Float](unsafeUninitializedCapacity: baseCount * n) { buffer, initialised in
            for p in 0..<baseCount {
                var covered = 0
                for layer in sorted {
                    buffer.baseAddress!.advanced(by: p * n + covered).initialize(repeating: 0, count: layer.offset - covered)
                    covered = layer.range.upperBound
                }
                buffer.baseAddress!.advanced(by: p * n + covered).initialize(repeating: 0, count: n - covered)
            }
            initialised = baseCount * n
        }
    }

    /// θ_l ← θ_l − λ_l Σ_p w_l,p d_l,p (w = μ·s, so Σ_p μ_l,p d̂_l,p) with the λ, w and d of the last
    /// `prepareStep`.
    mutating func applyUpdate(to θ: UnsafeMutableBufferPointer<Float>) {
        let baseCount = rules.count
        let n = parameterCount
        let work = activations
        precondition(work.directions.count == baseCount * n, "L3RS applyUpdate without prepareStep")
        buffers.chunks.withUnsafeMutableBufferPointer { chunks in
            work.directions.withUnsafeBufferPointer { recorded in
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: baseCount) { directions in
                    work.directionWeights.withUnsafeBufferPointer { w in
                        for (l, layer) in layers.enumerated() {
                            for p in 0..<baseCount {
                                directions[p] = recorded.baseAddress! + p * n + layer.offset
                            }
                            Self.subtractMixture(
                                from: θ.baseAddress! + layer.offset, count: layer.count, stepSize: work.stepSizes[l],
                                weights: w.baseAddress! + l * baseCount,
                                directions: UnsafePointer(directions.baseAddress!), baseCount: baseCount,
                                mixture: chunks.baseAddress! + baseCount * FusedStepBuffers.chunkLength)
                        }
                    }
                }
            }
        }
    }

    /// The second pass of the fused `step`: the update of `applyUpdate`, bit for bit, without all P
    /// directions in memory. Chunk by chunk, each direction is read where its rule's `directionSource` says
    /// (g, the advanced first moment, rebuilt into scratch, or `buffers.storedDirections`).
    private mutating func applyFusedUpdate(to θ: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>,
                                           state: L3RSState) {
        let baseCount = rules.count
        let n = parameterCount
        let chunkLength = FusedStepBuffers.chunkLength
        let work = activations
        var buffers = FusedStepBuffers()
        swap(&buffers, &self.buffers)
        defer { swap(&buffers, &self.buffers) }
        let storageSlot = buffers.storageSlot, sources = buffers.sources
        // The closures only lend pointers to the loop inside them, so they are not indented level by level.
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: baseCount) { firstMoments in
        Self.withFirstMoments(state.baseStates, from: 0, into: firstMoments) {
        buffers.storedDirections.withUnsafeBufferPointer { stored in
        buffers.chunks.withUnsafeMutableBufferPointer { chunks in
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: baseCount) { directions in
        work.directionWeights.withUnsafeBufferPointer { w in
            for (l, layer) in layers.enumerated() {
                for start in stride(from: layer.range.lowerBound, to: layer.range.upperBound, by: chunkLength) {
                    let range = start..<min(start + chunkLength, layer.range.upperBound)
                    for p in 0..<baseCount {
                        switch sources[p] {
                        case .gradient:
                            directions[p] = g.baseAddress! + start
                        case .firstMoment:
                            directions[p] = firstMoments[p]! + start
                        case .rebuilt:
                            let scratch = chunks.baseAddress! + p * chunkLength
                            rules[p].rebuildDirection(range, gradient: g, state: state.baseStates[p], into: scratch)
                            directions[p] = UnsafePointer(scratch)
                        case .computed:
                            directions[p] = stored.baseAddress! + storageSlot[p]! * n + start
                        }
                    }
                    Self.subtractMixture(
                        from: θ.baseAddress! + start, count: range.count, stepSize: work.stepSizes[l],
                        weights: w.baseAddress! + l * baseCount, directions: UnsafePointer(directions.baseAddress!),
                        baseCount: baseCount, mixture: chunks.baseAddress! + baseCount * chunkLength)
                }
            }
        }
        }
        }
        }
        }
        }
    }

    /// Runs `body` with `pointers[p]` the base address of state p's first moment (nil where the slot is
    /// empty) for p ≥ `index`, each valid for the whole call: nested `withUnsafeBufferPointer`s, one per state.
    private static func withFirstMoments(
        _ states: [OptimizerState], from index: Int, into pointers: UnsafeMutableBufferPointer<UnsafePointer<Float>?>,
        _ body: () -> Void
    ) {
        guard index < states.count else { return body() }
        states[index].firstMoment.withUnsafeBufferPointer { moment in
            pointers[index] = moment.isEmpty ? nil : moment.baseAddress
            withFirstMoments(states, from: index + 1, into: pointers, body)
        }
    }

    /// θ[i] −= λ·((w_0·d_0[i] + w_1·d_1[i]) + …) for `count` elements, in base order, with the weights
    /// w_p = μ_p·s_p folding the normalisation s_p = 1/(rms + ε) into the mixing weight. Up to three bases in
    /// one pass; more accumulate base by base in `mixture` (≥ count floats, so count ≤ chunkLength then).
    @inline(__always)
    private static func subtractMixture(
        from θ: UnsafeMutablePointer<Float>, count: Int, stepSize λ: Float, weights w: UnsafePointer<Float>,
        directions d: UnsafePointer<UnsafePointer<Float>>, baseCount: Int, mixture: UnsafeMutablePointer<Float>
    ) {
        switch baseCount {
        case 1...3:
            // In C, for its AVX2 clone; the same operations in the same order.
            // (An optional pointer has the layout of a pointer.)
            let pointers = UnsafeRawPointer(d).assumingMemoryBound(to: UnsafePointer<Float>?.self)
            l3rs_subtract_mixture(θ, count, λ, baseCount, w, pointers)
        default:
            // In chunks, so that `mixture` (chunkLength floats) also serves a whole layer of applyUpdate.
            let chunkLength = FusedStepBuffers.chunkLength
            for start in stride(from: 0, to: count, by: chunkLength) {
                let length = min(chunkLength, count - start)
                let (w0, d0) = (w[0], d[0] + start)
                for i in 0..<length { mixture[i] = w0 * d0[i] }
                for p in 1..<baseCount {
                    let (wp, dp) = (w[p], d[p] + start)
                    for i in 0..<length { mixture[i] += wp * dp[i] }
                }
                let target = θ + start
                for i in 0..<length { target[i] -= λ * mixture[i] }
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
