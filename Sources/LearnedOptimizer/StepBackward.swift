extension L3RSOptimizer {
    /// Reverse mode through one recorded step (docs/method.md §5): on entry `adjoint.parameters` is θ̄_k+1 and
    /// the EMA and base-state adjoints are those of the state after the step; on exit they are those of θ_k
    /// and of the state before, and φ̄ has this step's contribution added.
    ///
    /// The update θ_k+1 = θ_k − Δ, Δ_l = λ_l Σ_p μ_l,p d̂_l,p, passes θ̄ through unchanged (identity) and gives
    /// Δ̄ = −θ̄_k+1; the learned rule takes it from there (`LearnedStepRuleAdjoint.swift`), and in second order
    /// the directions and base rules carry it on into ḡ_k and, through the Hessian, into θ̄_k.
    func backpropagate<Problem: InnerProblem>(
        record: StepRecord,
        adjoint: inout UnrollAdjoint,
        order: MetaGradientOrder,
        problem: Problem
    ) {
        let activations = record.activations
        let secondOrder = order == .secondOrder
        computeDirectionDots(record: record, adjoint: &adjoint)
        learnedRule.backpropagateOutputs(activations, adjoint: &adjoint)
        learnedRule.backpropagateNetwork(metaParameters, work: activations, adjoint: &adjoint)
        // Uses θ̄_k+1, so it runs before the feature terms are added to θ̄.
        if secondOrder {
            for i in 0..<parameterCount { adjoint.gradient[i] = 0 }
            for p in rules.indices {
                backpropagateDirection(base: p, record: record, adjoint: &adjoint)
            }
        }
        // The statistics: rms θ_l into θ̄ and, in second order, rms g_l into ḡ and the loss into θ̄ via
        // ∂ℓ/∂θ = g.
        let statistics = learnedRule.backpropagateAverages(activations, adjoint: &adjoint)
        for (l, layer) in layers.enumerated() {
            Self.addScaled(record.parameters, by: statistics.parameterFactors[l], to: &adjoint.parameters,
                           range: layer.range)
            if secondOrder {
                Self.addScaled(record.gradient, by: statistics.gradientFactors[l], to: &adjoint.gradient,
                               range: layer.range)
            }
        }
        guard secondOrder else { return }
        Self.addScaled(record.gradient, by: statistics.lossFactor, to: &adjoint.parameters, range: 0..<parameterCount)
        addHessianProduct(record: record, adjoint: &adjoint, problem: problem)
    }

    /// ⟨θ̄_k+1,l, d̂_l,p⟩ = s_l,p ⟨θ̄_k+1,l, d_l,p⟩ into `adjoint.directionDots` [L, P] (the record keeps d and
    /// s, not d̂).
    private func computeDirectionDots(record: StepRecord, adjoint: inout UnrollAdjoint) {
        let activations = record.activations
        let (n, baseCount) = (parameterCount, rules.count)
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
    }

    /// θ̄_k += H_k ḡ_k (second order), skipped when ḡ_k is zero.
    private func addHessianProduct<Problem: InnerProblem>(
        record: StepRecord, adjoint: inout UnrollAdjoint, problem: Problem
    ) {
        guard adjoint.gradient.contains(where: { $0 != 0 }) else { return }
        let (gradientAdjoint, step) = (adjoint.gradient, record.activations.step)
        record.parameters.withUnsafeBufferPointer { θ in
            gradientAdjoint.withUnsafeBufferPointer { ḡ in
                adjoint.hessianProduct.withUnsafeMutableBufferPointer { product in
                    problem.trainingHessianVectorProduct(parameters: θ, vector: ḡ, step: step, into: product)
                }
            }
        }
        Self.addScaled(adjoint.hessianProduct, by: 1, to: &adjoint.parameters, range: 0..<parameterCount)
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

    /// v2's features of direction p in layer l (second order): f = 0.1·log(ρ_d + 1e-12) gives
    /// d̄ += f̄·0.1·d/(n ρ_d (ρ_d + 1e-12)); c = ⟨g, d⟩/(n ρ_g ρ_d) gives d̄ += c̄ (g/(n ρ_g ρ_d) − c d/(n ρ_d²)) and
    /// ḡ += c̄ (d/(n ρ_g ρ_d) − c g/(n ρ_g²)) (c is 0, a constant, where ρ_g or ρ_d is 0).
    private func backpropagateDirectionFeatures(base p: Int, layer l: Int, record: StepRecord, adjoint: inout UnrollAdjoint) {
        let activations = record.activations
        let (layout, layer, n) = (featureLayout, layers[l], parameterCount)
        let index = l * rules.count + p
        let row = l * layout.count
        let (gradientRMS, directionRMS) = (Double(activations.gradientRMS[l]), Double(activations.directionRMS[index]))
        let scaleFactor = Float(FeatureLayout.directionScaleWeight)
            * LayerStatistics.logRMSDerivativeFactor(rms: activations.directionRMS[index], count: layer.count)
        let scaleTerm = adjoint.features[row + layout.directionScaleIndex(p)] * scaleFactor
        let cosineAdjoint = Double(adjoint.features[row + layout.cosineIndex(p)])
        let hasCosine = gradientRMS > 0 && directionRMS > 0 && cosineAdjoint != 0
        let count = Double(layer.count)
        let cosine = Double(activations.gradientDirectionCosines[index])
        let cross = hasCosine ? Float(cosineAdjoint / (count * gradientRMS * directionRMS)) : 0
        let ownDirection = hasCosine ? Float(cosineAdjoint * cosine / (count * directionRMS * directionRMS)) : 0
        let ownGradient = hasCosine ? Float(cosineAdjoint * cosine / (count * gradientRMS * gradientRMS)) : 0
        for i in layer.range {
            let (d, g) = (activations.directions[p * n + i], record.gradient[i])
            adjoint.direction[i] += scaleTerm * d + (cross * g - ownDirection * d)
            adjoint.gradient[i] += cross * d - ownGradient * g
        }
    }

    /// d̂ = d · R / (ρ + ε'), ρ = rms(d) over the layer, R = 1 or rms(d_adam) (`L3RSDirectionScale`):
    /// d̄_i = d̂̄_i R/(ρ + ε') − ⟨d̂̄, d̂⟩ d̂_i / (n_l ρ R), with d̂̄ = λ μ Δ̄ = −λ μ θ̄_k+1; under adam scale Adam's
    /// direction also gets R̄ d_i / (n_l R), R̄ = Σ_q ⟨d̂̄_q, d̂_q⟩ / R over every base q. Then the base rule's own
    /// adjoint (`DifferentiableDirectionRule`) into ḡ and s̄.
    private func backpropagateDirection(base p: Int, record: StepRecord, adjoint: inout UnrollAdjoint) {
        let activations = record.activations
        let n = parameterCount
        let baseCount = rules.count
        let reference = configuration.referenceBaseIndex
        for i in 0..<n { adjoint.direction[i] = 0 }
        for (l, layer) in layers.enumerated() {
            let index = l * baseCount + p
            let coefficient = -activations.stepSizes[l] * activations.mixingWeights[index]
            let rms = Double(activations.directionRMS[index])
            let length = reference.map { Double(activations.directionRMS[l * baseCount + $0]) } ?? 1
            let denominator = Float((rms + LayerStatistics.normalisationEpsilon) / length)
            let projection = Double(coefficient) * adjoint.directionDots[index]
            let radial = rms > 0 && length > 0 ? Float(projection / (Double(layer.count) * rms * length)) : 0
            let scale = activations.directionScales[index]
            // R̄ d/(n R) on Adam's direction: R = rms(d_adam) scales every base's d̂.
            var lengthTerm: Float = 0
            if p == reference, length > 0 {
                let lengthAdjoint = (0..<baseCount).reduce(0.0) { sum, q in
                    sum + Double(-activations.stepSizes[l] * activations.mixingWeights[l * baseCount + q])
                        * adjoint.directionDots[l * baseCount + q]
                } / length
                lengthTerm = Float(lengthAdjoint / (Double(layer.count) * length))
            }
            for i in layer.range {
                let d = activations.directions[p * n + i]
                adjoint.direction[i] = coefficient * adjoint.parameters[i] / denominator
                    - radial * (scale * d) + lengthTerm * d
            }
            if featureLayout.featureSet == .v2 {
                backpropagateDirectionFeatures(base: p, layer: l, record: record, adjoint: &adjoint)
            }
        }
        let (gradient, directionAdjoint, stateAfter) = (record.gradient, adjoint.direction, record.baseStatesAfter[p])
        gradient.withUnsafeBufferPointer { g in
            directionAdjoint.withUnsafeBufferPointer { d̄ in
                adjoint.gradient.withUnsafeMutableBufferPointer { ḡ in
                    rules[p].backpropagate(gradient: g, stateAfter: stateAfter, directionAdjoint: d̄,
                                           stateAdjoint: &adjoint.baseStates[p], gradientAdjoint: ḡ)
                }
            }
        }
    }
}
