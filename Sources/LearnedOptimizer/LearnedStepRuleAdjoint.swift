/// What the learned rule's reverse pass hands to the statistics it read: the factors that turn the EMA
/// adjoints into adjoints of θ_k and g_k (docs/method.md §5).
struct StatisticAdjoints {
    /// Per layer: θ̄_l += parameterFactors[l] · θ_l, from ∂ log rms(θ_l) / ∂θ_l.
    var parameterFactors: [Float]
    /// Per layer: ḡ_l += gradientFactors[l] · g_l (second order).
    var gradientFactors: [Float]
    /// θ̄ += lossFactor · g, from ∂ log ℓ / ∂θ = g/ℓ (second order).
    var lossFactor: Float
}

extension LearnedStepRule {
    /// From ⟨θ̄_k+1,l, d̂_l,p⟩ (`adjoint.directionDots`; the update's Δ̄ is −θ̄_k+1, so dot = ⟨Δ̄_l, d̂_l,p⟩ is
    /// its negative) to the MLP output adjoints: λ̄_l = Σ_p μ_l,p·dot, μ̄_l,p = λ_l·dot, then through exp/clip
    /// and softmax; plus
    /// the step-size penalty's term on o_λ. A fixed output (ablations) does not depend on the MLP: its
    /// adjoint stops here.
    func backpropagateOutputs(_ work: StepActivations, adjoint: inout UnrollAdjoint) {
        for l in layers.indices {
            let λ = Double(work.stepSizes[l])
            let row = l * outputCount
            var stepAdjoint = 0.0
            var weightedMixAdjoint = 0.0
            for p in 0..<baseCount {
                let μ = Double(work.mixingWeights[l * baseCount + p])
                let dot = -adjoint.directionDots[l * baseCount + p]
                stepAdjoint += μ * dot
                weightedMixAdjoint += μ * λ * dot
            }
            let logStep = Double(work.outputs[row])
            let insideClip = abs(logStep) < StepOutputs.logStepBound
            adjoint.outputs[row] = insideClip && learnedOutputs.learnsStepSize
                ? Float(stepAdjoint * λ + adjoint.stepSizePenaltyScale * logStep) : 0
            for p in 0..<baseCount {
                let μ = Double(work.mixingWeights[l * baseCount + p])
                let mixAdjoint = λ * -adjoint.directionDots[l * baseCount + p]
                adjoint.outputs[row + 1 + p] =
                    learnedOutputs.learnsMixing ? Float(μ * (mixAdjoint - weightedMixAdjoint)) : 0
            }
        }
    }

    /// The MLP backwards: φ̄ += ∂/∂φ, and the feature adjoints, which pass only where the raw feature was
    /// finite and strictly inside the clip bound; the embedding block of the features belongs to φ.
    func backpropagateNetwork(_ φ: MetaParameters, work: StepActivations, adjoint: inout UnrollAdjoint) {
        adjoint.withNetworkAdjoints { outputAdjoints, parameterAdjoints, featureAdjoints in
            φ.values.withUnsafeBufferPointer { parameters in
                work.withNetworkActivations { features, hidden1, hidden2 in
                    MetaNetwork.backward(
                        parameters: parameters, layout: φ.layout, features: features, hidden1: hidden1,
                        hidden2: hidden2, outputAdjoints: outputAdjoints, parameterAdjoints: parameterAdjoints,
                        featureAdjoints: featureAdjoints)
                }
            }
        }
        let bound = FeatureLayout.clipBound
        for i in 0..<adjoint.features.count {
            let raw = work.rawFeatures[i]
            if !(raw.isFinite && abs(raw) < bound) { adjoint.features[i] = 0 }
        }
        let layout = featureLayout
        guard layout.variant == .layerEmbedding else { return }
        let offset = φ.layout.embeddingOffset
        for l in layers.indices {
            for e in 0..<layout.embeddingWidth {
                adjoint.metaParameters[offset + l * layout.embeddingWidth + e] +=
                    adjoint.features[l * layout.count + layout.identityStart + e]
            }
        }
    }

    /// The EMAs a' = γ a + (1 − γ) r backwards: ā'_total = ā' + f̄/c (c = 1 − γ^(k+1) in v2, 1 in v1; v2's loss
    /// progress â_0 − â_γ adds to f̄ of both EMAs), r̄ += (1 − γ) ā'_total, ā = γ ā'_total; v2's standardised
    /// statistics add their z-score adjoint to r̄ (∂r/∂ξ = ∂u/∂ξ); then r = log rms(·) − const and log ℓ into
    /// the factors the caller applies to θ̄ and ḡ.
    func backpropagateAverages(_ work: StepActivations, adjoint: inout UnrollAdjoint) -> StatisticAdjoints {
        let layout = featureLayout
        let decays = FeatureLayout.emaDecays
        let layerCount = layers.count
        let extended = layout.featureSet == .v2
        // A shard's standardised scores depend on the other shards' layers, which this adjoint does not see.
        precondition(!extended || acrossShards == nil, "meta-gradients of an optimizer over a shard of the layers")
        var lossRelativeAdjoint: Float = 0
        for (d, γ) in decays.enumerated() {
            let correction = Float(layout.averageCorrection(decayIndex: d, step: work.step))
            var total = adjoint.lossAverages[d]
            for l in 0..<layerCount {
                total += lossFeatureAdjoint(layer: l, decayIndex: d, adjoint: adjoint) / correction
            }
            lossRelativeAdjoint += (1 - γ) * total
            adjoint.lossAverages[d] = γ * total
        }
        let parameterScoreAdjoints = extended ? standardisedAdjoints(work.parameterRMS, .parameterRMS, adjoint) : []
        let gradientScoreAdjoints = extended ? standardisedAdjoints(work.gradientRMS, .gradientRMS, adjoint) : []
        var result = StatisticAdjoints(parameterFactors: [], gradientFactors: [], lossFactor: 0)
        for (l, layer) in layers.enumerated() {
            var parameterRelativeAdjoint: Float = 0
            var gradientRelativeAdjoint: Float = 0
            for (d, γ) in decays.enumerated() {
                let correction = Float(layout.averageCorrection(decayIndex: d, step: work.step))
                let index = d * layerCount + l
                let row = l * layout.count
                let parameterTotal = adjoint.parameterAverages[index]
                    + adjoint.features[row + layout.averageIndex(.parameterRMS, decayIndex: d)] / correction
                parameterRelativeAdjoint += (1 - γ) * parameterTotal
                adjoint.parameterAverages[index] = γ * parameterTotal
                let gradientTotal = adjoint.gradientAverages[index]
                    + adjoint.features[row + layout.averageIndex(.gradientRMS, decayIndex: d)] / correction
                gradientRelativeAdjoint += (1 - γ) * gradientTotal
                adjoint.gradientAverages[index] = γ * gradientTotal
            }
            if extended {
                parameterRelativeAdjoint += parameterScoreAdjoints[l]
                gradientRelativeAdjoint += gradientScoreAdjoints[l]
            }
            result.parameterFactors.append(parameterRelativeAdjoint
                * LayerStatistics.logRMSDerivativeFactor(rms: work.parameterRMS[l], count: layer.count))
            result.gradientFactors.append(gradientRelativeAdjoint
                * LayerStatistics.logRMSDerivativeFactor(rms: work.gradientRMS[l], count: layer.count))
        }
        result.lossFactor = Float(Double(lossRelativeAdjoint) / (Double(work.loss) + FeatureLayout.logFloor))
        return result
    }

    /// f̄ of the (corrected) loss EMA at `decayIndex` in row `l`: its own feature's and, in v2, the loss
    /// progress's, which reads â_0 with sign + and â_γ with sign −.
    private func lossFeatureAdjoint(layer l: Int, decayIndex d: Int, adjoint: UnrollAdjoint) -> Float {
        let layout = featureLayout
        let row = l * layout.count
        let own = adjoint.features[row + layout.averageIndex(.trainingLoss, decayIndex: d)]
        guard layout.featureSet == .v2 else { return own }
        guard d == 0 else { return own - adjoint.features[row + layout.lossProgressIndex(decayIndex: d)] }
        var progress: Float = 0
        for j in 1..<FeatureLayout.emaDecays.count {
            progress += adjoint.features[row + layout.lossProgressIndex(decayIndex: j)]
        }
        return own + progress
    }

    /// ū_l of u_l = log(ξ_l + 1e-12) from the z-scores' adjoints z̄ (layer normalisation backwards):
    /// ū_j = (z̄_j − mean z̄ − z_j·mean(z̄ ⊙ z)) / s.
    private func standardisedAdjoints(
        _ statistics: [Float], _ statistic: FeatureLayout.Statistic, _ adjoint: UnrollAdjoint
    ) -> [Float] {
        let (scores, deviation) = Self.standardised(statistics)
        let index = featureLayout.standardisedIndex(statistic)
        let scoreAdjoints = layers.indices.map { Double(adjoint.features[$0 * featureLayout.count + index]) }
        let count = Double(scores.count)
        let meanAdjoint = scoreAdjoints.reduce(0, +) / count
        let meanProduct = zip(scoreAdjoints, scores).reduce(0) { $0 + $1.0 * $1.1 } / count
        return layers.indices.map { Float((scoreAdjoints[$0] - meanAdjoint - scores[$0] * meanProduct) / deviation) }
    }
}
