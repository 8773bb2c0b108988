import Foundation

extension L3RSOptimizer {
    /// Reverse mode through one recorded step (method.md §5): on entry `adjoint.parameters` is θ̄_k+1 and the
    /// EMA and base-state adjoints are those of the state after the step; on exit they are those of θ_k and of
    /// the state before, and φ̄ has this step's contribution added.
    func backpropagate<Problem: InnerProblem>(
        record: StepRecord,
        adjoint: inout UnrollAdjoint,
        order: MetaGradientOrder,
        problem: Problem
    ) {
        let activations = record.activations
        let layerCount = layers.count
        let baseCount = rules.count
        let outputCount = 1 + baseCount
        let n = parameterCount
        let secondOrder = order == .secondOrder

        // Update θ_k+1 = θ_k − Δ with Δ_l = λ_l Σ_p μ_l,p d̂_l,p: θ̄_k = θ̄_k+1 (identity), Δ̄ = −θ̄_k+1,
        // λ̄_l = ⟨Δ̄_l, Σ μ d̂⟩, μ̄_l,p = λ_l⟨Δ̄_l, d̂_l,p⟩; then exp/clip and softmax into the MLP outputs.
        // ⟨θ̄_l, d̂_l,p⟩ = s_l,p ⟨θ̄_l, d_l,p⟩ (the record keeps d and s, not d̂).
        adjoint.parameters.withUnsafeBufferPointer { θ̄ in
            activations.directions.withUnsafeBufferPointer { d in
                for (l, layer) in layers.enumerated() {
                    for p in 0..<baseCount {
                        let direction = UnsafeBufferPointer(rebasing: d[(p * n)..<((p + 1) * n)])
                        adjoint.directionDots[l * baseCount + p] = Double(activations.directionScales[l * baseCount + p])
                            * LayerStatistics.dot(θ̄, direction, layer.range)
                    }
                }
            }
        }
        for l in 0..<layerCount {
            let λ = Double(activations.stepSizes[l])
            let row = l * outputCount
            var stepAdjoint = 0.0
            var weightedMixAdjoint = 0.0
            for p in 0..<baseCount {
                let μ = Double(activations.mixingWeights[l * baseCount + p])
                let dot = -adjoint.directionDots[l * baseCount + p]
                stepAdjoint += μ * dot
                weightedMixAdjoint += μ * λ * dot
            }
            let logStep = Double(activations.outputs[row])
            let insideClip = abs(logStep) < StepOutputs.logStepBound
            // A fixed output (ablations) does not depend on the MLP: its adjoint stops here.
            let learned = configuration.learnedOutputs
            adjoint.outputs[row] = insideClip && learned.learnsStepSize
                ? Float(stepAdjoint * λ + adjoint.stepSizePenaltyScale * logStep) : 0
            for p in 0..<baseCount {
                let μ = Double(activations.mixingWeights[l * baseCount + p])
                let mixAdjoint = λ * -adjoint.directionDots[l * baseCount + p]
                adjoint.outputs[row + 1 + p] = learned.learnsMixing ? Float(μ * (mixAdjoint - weightedMixAdjoint)) : 0
            }
        }

        // The MLP: φ̄ and the feature adjoints.
        metaParameters.values.withUnsafeBufferPointer { φ in
            activations.features.withUnsafeBufferPointer { features in
                activations.hidden1.withUnsafeBufferPointer { h1 in
                    activations.hidden2.withUnsafeBufferPointer { h2 in
                        adjoint.outputs.withUnsafeBufferPointer { ō in
                            adjoint.metaParameters.withUnsafeMutableBufferPointer { φ̄ in
                                adjoint.features.withUnsafeMutableBufferPointer { f̄ in
                                    MetaNetwork.backward(
                                        parameters: φ, layout: metaParameters.layout, features: features,
                                        hidden1: h1, hidden2: h2, outputAdjoints: ō,
                                        parameterAdjoints: φ̄, featureAdjoints: f̄)
                                }
                            }
                        }
                    }
                }
            }
        }

        // Clipping and the non-finite replacement pass adjoints only where the raw feature was finite and
        // strictly inside the bound.
        let bound = FeatureLayout.clipBound
        for i in 0..<adjoint.features.count {
            let raw = activations.rawFeatures[i]
            if !(raw.isFinite && abs(raw) < bound) { adjoint.features[i] = 0 }
        }
        let layout = featureLayout
        let featureCount = layout.count
        if layout.variant == .layerEmbedding {
            let offset = metaParameters.layout.embeddingOffset
            for l in 0..<layerCount {
                for e in 0..<layout.embeddingWidth {
                    adjoint.metaParameters[offset + l * layout.embeddingWidth + e] +=
                        adjoint.features[l * featureCount + layout.identityStart + e]
                }
            }
        }

        // Second order: d̂̄_p,l = λ_l μ_l,p Δ̄_l, through the normalisation into d̄, and through each base rule
        // into ḡ and s̄. Uses θ̄_k+1, so it runs before the feature terms are added to θ̄.
        if secondOrder {
            for i in 0..<n { adjoint.gradient[i] = 0 }
            for p in 0..<baseCount {
                backpropagateDirection(base: p, record: record, adjoint: &adjoint)
            }
        }

        // EMAs a' = γ a + (1 − γ) r: ā'_total = ā' + f̄, r̄ += (1 − γ) ā'_total, ā = γ ā'_total. Then the
        // relative log-statistics into θ̄ (rms θ_l) and, in second order, ḡ (rms g_l) and θ̄ via ∂ℓ/∂θ = g.
        let decays = FeatureLayout.emaDecays
        var lossRelativeAdjoint: Float = 0
        for (d, γ) in decays.enumerated() {
            var total = adjoint.lossAverages[d]
            for l in 0..<layerCount {
                total += adjoint.features[l * featureCount + layout.averageIndex(.trainingLoss, decayIndex: d)]
            }
            lossRelativeAdjoint += (1 - γ) * total
            adjoint.lossAverages[d] = γ * total
        }
        for (l, layer) in layers.enumerated() {
            var parameterRelativeAdjoint: Float = 0
            var gradientRelativeAdjoint: Float = 0
            for (d, γ) in decays.enumerated() {
                let index = d * layerCount + l
                let row = l * featureCount
                let parameterTotal = adjoint.parameterAverages[index]
                    + adjoint.features[row + layout.averageIndex(.parameterRMS, decayIndex: d)]
                parameterRelativeAdjoint += (1 - γ) * parameterTotal
                adjoint.parameterAverages[index] = γ * parameterTotal
                let gradientTotal = adjoint.gradientAverages[index]
                    + adjoint.features[row + layout.averageIndex(.gradientRMS, decayIndex: d)]
                gradientRelativeAdjoint += (1 - γ) * gradientTotal
                adjoint.gradientAverages[index] = γ * gradientTotal
            }
            let parameterFactor = parameterRelativeAdjoint
                * LayerStatistics.logRMSDerivativeFactor(rms: activations.parameterRMS[l], count: layer.count)
            Self.addScaled(record.parameters, by: parameterFactor, to: &adjoint.parameters, range: layer.range)
            if secondOrder {
                let gradientFactor = gradientRelativeAdjoint
                    * LayerStatistics.logRMSDerivativeFactor(rms: activations.gradientRMS[l], count: layer.count)
                Self.addScaled(record.gradient, by: gradientFactor, to: &adjoint.gradient, range: layer.range)
            }
        }

        guard secondOrder else { return }
        let lossFactor = Float(Double(lossRelativeAdjoint) / (Double(activations.loss) + FeatureLayout.logFloor))
        Self.addScaled(record.gradient, by: lossFactor, to: &adjoint.parameters, range: 0..<n)
        // θ̄_k += H_k ḡ_k.
        guard adjoint.gradient.contains(where: { $0 != 0 }) else { return }
        record.parameters.withUnsafeBufferPointer { θ in
            adjoint.gradient.withUnsafeBufferPointer { ḡ in
                adjoint.hessianProduct.withUnsafeMutableBufferPointer { product in
                    problem.trainingHessianVectorProduct(parameters: θ, vector: ḡ, step: activations.step,
                                                         into: product)
                }
            }
        }
        Self.addScaled(adjoint.hessianProduct, by: 1, to: &adjoint.parameters, range: 0..<n)
    }

    /// target[i] += factor · source[i] over `range`, through buffer pointers: indexing an array field of an
    /// inout struct element by element checks its uniqueness per element and keeps the loop scalar.
    static func addScaled(_ source: [Float], by factor: Float, to target: inout [Float], range: Range<Int>) {
        precondition(range.upperBound <= source.count && range.upperBound <= target.count, "addScaled: range out of bounds")
        source.withUnsafeBufferPointer { x in
            target.withUnsafeMutableBufferPointer { y in
                let (from, to) = (x.baseAddress! + range.lowerBound, y.baseAddress! + range.lowerBound)
                for i in 0..<range.count { to[i] += factor * from[i] }
            }
        }
    }

    /// d̂ = d / (ρ + ε'), ρ = rms(d) over the layer: d̄_i = d̂̄_i/(ρ + ε') − ⟨d̂̄, d̂⟩ d̂_i / (n_l ρ); then the
    /// base rule's own adjoint.
    private func backpropagateDirection(base p: Int, record: StepRecord, adjoint: inout UnrollAdjoint) {
        let activations = record.activations
        let n = parameterCount
        let baseCount = rules.count
        let layerCount = layers.count
        for i in 0..<n { adjoint.direction[i] = 0 }
        for (l, layer) in layers.enumerated() {
            // d̂̄ = λ μ Δ̄ = −λ μ θ̄_k+1.
            let coefficient = -activations.stepSizes[l] * activations.mixingWeights[l * baseCount + p]
            let rms = Double(activations.directionRMS[p * layerCount + l])
            let denominator = Float(rms + LayerStatistics.normalisationEpsilon)
            let projection = Double(coefficient) * adjoint.directionDots[l * baseCount + p]
            let radial = rms > 0 ? Float(projection / (Double(layer.count) * rms)) : 0
            let scale = activations.directionScales[l * baseCount + p]
            for i in layer.range {
                adjoint.direction[i] = coefficient * adjoint.parameters[i] / denominator
                    - radial * (scale * activations.directions[p * n + i])
            }
        }
        record.gradient.withUnsafeBufferPointer { g in
            adjoint.direction.withUnsafeBufferPointer { d̄ in
                adjoint.gradient.withUnsafeMutableBufferPointer { ḡ in
                    rules[p].backpropagate(
                        gradient: g, stateAfter: record.baseStatesAfter[p],
                        directionAdjoint: d̄, stateAdjoint: &adjoint.baseStates[p], gradientAdjoint: ḡ)
                }
            }
        }
    }
}
