import Foundation

/// The learned rule of L3RS (docs/method.md §3–4): per-layer statistics → EMAs → features → MLP_φ → (λ_l, μ_l).
/// This is the one place λ and μ are computed; the fused step and the recorded step both call
/// `computeStepSizesAndMixingWeights`, and its adjoint (`LearnedStepRuleAdjoint.swift`) runs the same maps
/// backwards.
///
/// It reads the step's layer statistics from, and writes its features, MLP activations, λ, μ and the folded
/// weights w = μ·s into, a `StepActivations`; everything it carries between steps is in `L3RSState`.
struct LearnedStepRule: Sendable {
    let featureLayout: FeatureLayout
    let layers: [LayerSlice]
    let baseCount: Int
    /// λ0.
    let baseLearningRate: Float
    /// m(k; H): λ0·m is the step at o_λ = 0.
    let stepSchedule: L3RSStepSchedule
    let learnedOutputs: L3RSLearnedOutputs
    /// Set when the rule steps one shard of the layers: v2 standardises over every layer of the net.
    var acrossShards: AcrossShardLayers?
    /// The layers whose non-finite features this rule counts (nil: all); on a shard, the layers whose first
    /// element it holds, so that a layer cut between ranks is counted once when the shards' counts are added.
    var countedLayers: Range<Int>?

    /// Outputs of the MLP per layer: o_λ, then one mixing logit per base rule.
    var outputCount: Int { 1 + baseCount }

    /// Steps 3–4 of a step, after the statistics of `work` are measured: records ξ_0 on step 0, advances
    /// the EMAs, writes the features, runs the MLP and maps its outputs to λ, μ and w.
    func computeStepSizesAndMixingWeights(
        state: inout L3RSState, metaParameters: MetaParameters, work: inout StepActivations
    ) {
        advanceAverages(state: &state, work: work)
        writeFeatures(into: &work, state: state, metaParameters: metaParameters)
        work.runNetwork(metaParameters)
        mapOutputs(&work, horizon: state.horizon)
    }

    /// ξ_0 on step 0, then a' = γ a + (1 − γ) log(ξ_k/ξ_0) for every decay γ (docs/method.md §3).
    private func advanceAverages(state: inout L3RSState, work: StepActivations) {
        if work.step == 0 {
            state.initialParameterRMS = work.parameterRMS
            state.initialGradientRMS = work.gradientRMS
            state.initialLoss = work.loss
        }
        let layerCount = layers.count
        let decays = FeatureLayout.emaDecays
        let lossRelative = Float(LayerStatistics.logScale(work.loss) - LayerStatistics.logScale(state.initialLoss))
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
    }

    /// Fills the raw and the clipped feature matrices [L, F] for the current state (its EMAs advanced).
    private func writeFeatures(into work: inout StepActivations, state: L3RSState, metaParameters φ: MetaParameters) {
        for l in layers.indices {
            writeRawFeatures(layer: l, into: &work.rawFeatures, state: state, step: work.step, metaParameters: φ)
        }
        if featureLayout.featureSet == .v2 { writeExtendedFeatures(into: &work, state: state) }
        var nonFinite = 0
        let bound = FeatureLayout.clipBound
        let counted = countedLayers ?? layers.indices
        for i in work.rawFeatures.indices {
            let value = work.rawFeatures[i]
            if value.isFinite {
                work.features[i] = min(max(value, -bound), bound)
            } else {
                work.features[i] = 0
                if counted.contains(i / featureLayout.count) { nonFinite += 1 }
            }
        }
        work.nonFiniteFeatures = nonFinite
    }

    /// Row `l` of the raw features: the EMAs and absolute scales of each statistic, the time features and
    /// the layer identity, in `FeatureLayout` order.
    private func writeRawFeatures(
        layer l: Int, into raw: inout [Float], state: L3RSState, step: Int, metaParameters φ: MetaParameters
    ) {
        let layout = featureLayout
        let layerCount = layers.count
        let weight = FeatureLayout.absoluteScaleWeight
        let row = l * layout.count
        for d in 0..<FeatureLayout.emaDecays.count {
            // v1 reads the EMAs raw (correction 1, the division exact), v2 bias-corrected.
            let correction = Float(layout.averageCorrection(decayIndex: d, step: step))
            raw[row + layout.averageIndex(.parameterRMS, decayIndex: d)] =
                state.parameterRMSAverages[d * layerCount + l] / correction
            raw[row + layout.averageIndex(.gradientRMS, decayIndex: d)] =
                state.gradientRMSAverages[d * layerCount + l] / correction
            raw[row + layout.averageIndex(.trainingLoss, decayIndex: d)] = state.lossAverages[d] / correction
        }
        raw[row + layout.absoluteScaleIndex(.parameterRMS)] =
            Float(weight * LayerStatistics.logScale(state.initialParameterRMS[l]))
        raw[row + layout.absoluteScaleIndex(.gradientRMS)] =
            Float(weight * LayerStatistics.logScale(state.initialGradientRMS[l]))
        raw[row + layout.absoluteScaleIndex(.trainingLoss)] = Float(weight * LayerStatistics.logScale(state.initialLoss))
        for (j, τ) in FeatureLayout.timeScales.enumerated() {
            raw[row + layout.timeIndex(j)] = Float(tanh(Double(step) / Double(τ)))
        }
        if layout.horizonFeatures {
            let horizon = Double(max(state.horizon, 1))
            raw[row + layout.progressIndex] = Float(Double(step) / horizon)
            raw[row + layout.progressIndex + 1] = Float(weight * log(horizon))
        }
        let identity = row + layout.identityStart
        switch layout.variant {
        case .layerEmbedding:
            let start = φ.layout.embeddingOffset + l * layout.embeddingWidth
            for e in 0..<layout.embeddingWidth { raw[identity + e] = φ.values[start + e] }
        case .kindAndDepth:
            for kind in LayerKind.allCases { raw[identity + kind.oneHotIndex] = kind == layers[l].kind ? 1 : 0 }
            raw[identity + LayerKind.allCases.count] = layers[l].relativeDepth
        }
    }

    /// v2's block of every row (`FeatureLayout.extendedStart`): the z-scores over the layers of log rms(θ_l) and
    /// log rms(g_l), 0.1·log rms(d_l,p), cos(g_l, d_l,p), and the loss progress â_0 − â_γ (from the bias-corrected
    /// loss EMAs already in the row).
    private func writeExtendedFeatures(into work: inout StepActivations, state: L3RSState) {
        let layout = featureLayout
        let parameterScores = standardisedOverTheNet(work.parameterRMS)
        let gradientScores = standardisedOverTheNet(work.gradientRMS)
        for l in layers.indices {
            let row = l * layout.count
            work.rawFeatures[row + layout.standardisedIndex(.parameterRMS)] = Float(parameterScores[l])
            work.rawFeatures[row + layout.standardisedIndex(.gradientRMS)] = Float(gradientScores[l])
            for p in 0..<baseCount {
                work.rawFeatures[row + layout.directionScaleIndex(p)] = Float(
                    FeatureLayout.directionScaleWeight * LayerStatistics.logScale(work.directionRMS[l * baseCount + p]))
                work.rawFeatures[row + layout.cosineIndex(p)] = work.gradientDirectionCosines[l * baseCount + p]
            }
            let current = work.rawFeatures[row + layout.averageIndex(.trainingLoss, decayIndex: 0)]
            for d in 1..<FeatureLayout.emaDecays.count {
                work.rawFeatures[row + layout.lossProgressIndex(decayIndex: d)] =
                    current - work.rawFeatures[row + layout.averageIndex(.trainingLoss, decayIndex: d)]
            }
        }
    }

    /// `standardised(statistics).scores`, over every layer of the net when this rule steps a shard of them
    /// (`acrossShards`): the scores of the shard's layers among all.
    private func standardisedOverTheNet(_ statistics: [Float]) -> [Double] {
        guard let across = acrossShards else { return Self.standardised(statistics).scores }
        let all = across.gather(statistics)
        let mine = across.firstLayer..<(across.firstLayer + statistics.count)
        precondition(mine.upperBound <= all.count, "gathered \(all.count) layers, the shard is layers \(mine)")
        return Array(Self.standardised(all).scores[mine])
    }

    /// z_l = (u_l − mean u) / s, s = √(var u + floor), of u_l = log(ξ_l + 1e-12) over the layers (population
    /// variance), in Double; `deviation` is s, which the adjoint needs.
    static func standardised(_ statistics: [Float]) -> (scores: [Double], deviation: Double) {
        let logs = statistics.map { LayerStatistics.logScale($0) }
        let count = Double(logs.count)
        let mean = logs.reduce(0, +) / count
        let variance = logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
        let deviation = (variance + FeatureLayout.standardisationVarianceFloor).squareRoot()
        return (logs.map { ($0 - mean) / deviation }, deviation)
    }

    /// λ = λ0·m(k; H)·exp(clip(o_λ, −8, 8)), μ = softmax(o_μ), both per layer; an output that is not learned
    /// (ablations) is fixed at λ0·m(k; H), or at the uniform mix. Then w = μ·s, the weights the update applies
    /// to the raw directions.
    private func mapOutputs(_ work: inout StepActivations, horizon: Int) {
        let λ0 = Double(baseLearningRate) * stepSchedule.multiplier(step: work.step, horizon: horizon)
        for l in layers.indices {
            let row = l * outputCount
            let logStep = min(max(Double(work.outputs[row]), -StepOutputs.logStepBound), StepOutputs.logStepBound)
            work.stepSizes[l] = learnedOutputs.learnsStepSize ? Float(λ0 * exp(logStep)) : Float(λ0)
            guard learnedOutputs.learnsMixing else {
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
        for i in 0..<(layers.count * baseCount) {
            work.directionWeights[i] = work.mixingWeights[i] * work.directionScales[i]
        }
    }
}

/// Constants of the map from MLP outputs to (λ, μ).
enum StepOutputs {
    /// o_λ is clipped to [−8, 8] before the exp, bounding λ to λ0·e^±8.
    static let logStepBound: Double = 8
}
