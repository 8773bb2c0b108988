import Optimizers

extension L3RSOptimizer {
    /// Runs one truncation of T inner steps from (`parameters`, `state`) and returns ∂L_meta/∂φ by reverse
    /// mode through the unroll (method.md §5). `objective` fixes L_meta; the default is method.md's
    /// L_meta = (1/T) Σ_{t=1..T} ℓ_val(θ_k+t).
    ///
    /// On return `parameters` and `state` have advanced by T steps (the inner run continues from there);
    /// φ is unchanged. The start state is a constant of the meta-gradient. Both memory modes give
    /// bit-identical results as long as `problem` is deterministic.
    public mutating func metaGradient<Problem: InnerProblem>(
        problem: Problem,
        parameters: inout [Float],
        state: inout L3RSState,
        truncationLength: Int,
        order: MetaGradientOrder,
        memory: UnrollMemory = .storeAll,
        objective: MetaObjective = .standard
    ) -> MetaGradientResult {
        precondition(truncationLength >= 1, "metaGradient: truncation length must be at least 1")
        precondition(parameters.count == parameterCount, "metaGradient: parameter count mismatch")
        let steps = truncationLength
        var adjoint = UnrollAdjoint(optimizer: self)
        var validationLosses = [Float](repeating: 0, count: steps)
        let lossWeights = objective.weighting.weights(count: steps)
        // d/do of ρ/(T·L) · o², per step and layer.
        adjoint.stepSizePenaltyScale = 2 * objective.stepSizePenalty / Double(steps * layers.count)
        var penalty = 0.0
        // Sums over the truncation's steps of λ_l and μ_l,p, for the meta-training log.
        var stepSizeSums = [Double](repeating: 0, count: layers.count)
        var mixingWeightSums = [Double](repeating: 0, count: layers.count * rules.count)

        func backward(_ segment: RecordedSegment, firstStep: Int) {
            for j in segment.records.indices.reversed() {
                validationLosses[firstStep + j] = segment.validationLosses[j]
                let recorded = segment.records[j].activations
                for l in stepSizeSums.indices { stepSizeSums[l] += Double(recorded.stepSizes[l]) }
                for i in mixingWeightSums.indices { mixingWeightSums[i] += Double(recorded.mixingWeights[i]) }
                if objective.stepSizePenalty != 0 {
                    for l in layers.indices {
                        let logStep = Double(recorded.outputs[l * (1 + rules.count)])
                        let clipped = min(max(logStep, -StepOutputs.logStepBound), StepOutputs.logStepBound)
                        penalty += clipped * clipped
                    }
                }
                let seed = segment.validationGradients[j]
                let seedScale = Float(lossWeights[firstStep + j])
                if seedScale != 0 {
                    L3RSOptimizer.addScaled(seed, by: seedScale, to: &adjoint.parameters, range: 0..<parameterCount)
                }
                backpropagate(record: segment.records[j], adjoint: &adjoint, order: order, problem: problem)
            }
        }

        switch memory {
        case .storeAll:
            let segment = recordSegment(problem: problem, parameters: &parameters, state: &state,
                                        steps: steps, order: order)
            backward(segment, firstStep: 0)
        case .recompute(let requestedLength):
            let segmentLength = min(max(1, requestedLength), steps)
            var snapshots: [(start: Int, parameters: [Float], state: L3RSState)] = []
            var gradient = [Float](repeating: 0, count: parameterCount)
            var done = 0
            while done < steps {
                snapshots.append((done, parameters, state))
                for _ in 0..<min(segmentLength, steps - done) {
                    let loss = parameters.withUnsafeBufferPointer { θ in
                        gradient.withUnsafeMutableBufferPointer { g in
                            problem.trainingLossAndGradient(parameters: θ, step: state.step, gradient: g)
                        }
                    }
                    step(parameters: &parameters, gradient: gradient, loss: loss, state: &state)
                }
                done += min(segmentLength, steps - done)
            }
            let finalActivations = activations
            for snapshot in snapshots.reversed() {
                var segmentParameters = snapshot.parameters
                var segmentState = snapshot.state
                let count = min(segmentLength, steps - snapshot.start)
                let segment = recordSegment(problem: problem, parameters: &segmentParameters, state: &segmentState,
                                            steps: count, order: order)
                backward(segment, firstStep: snapshot.start)
            }
            activations = finalActivations
        }

        var metaLoss = 0.0
        if objective.weighting == .uniform {
            for loss in validationLosses {
                metaLoss += Double(loss)
            }
            metaLoss /= Double(steps)
        } else {
            for (loss, weight) in zip(validationLosses, lossWeights) {
                metaLoss += weight * Double(loss)
            }
        }
        return MetaGradientResult(metaLoss: metaLoss, validationLosses: validationLosses,
                                  stepSizePenalty: objective.stepSizePenalty * penalty / Double(steps * layers.count),
                                  gradient: adjoint.metaParameters,
                                  isFinite: MetaGradientCheck.isFinite(adjoint.metaParameters),
                                  meanStepSizes: stepSizeSums.map { Float($0 / Double(steps)) },
                                  meanMixingWeights: mixingWeightSums.map { Float($0 / Double(steps)) })
    }

    /// Runs `steps` inner steps keeping what the reverse pass needs, and the validation loss and gradient
    /// after each step.
    private mutating func recordSegment<Problem: InnerProblem>(
        problem: Problem,
        parameters: inout [Float],
        state: inout L3RSState,
        steps: Int,
        order: MetaGradientOrder
    ) -> RecordedSegment {
        var segment = RecordedSegment()
        var gradient = [Float](repeating: 0, count: parameterCount)
        for _ in 0..<steps {
            let loss = parameters.withUnsafeBufferPointer { θ in
                gradient.withUnsafeMutableBufferPointer { g in
                    problem.trainingLossAndGradient(parameters: θ, step: state.step, gradient: g)
                }
            }
            let before = parameters
            parameters.withUnsafeBufferPointer { θ in
                gradient.withUnsafeBufferPointer { g in
                    prepareStep(parameters: θ, gradient: g, loss: loss, state: &state)
                }
            }
            let secondOrder = order == .secondOrder
            segment.records.append(StepRecord(
                parameters: before, activations: activations,
                gradient: secondOrder ? gradient : [], baseStatesAfter: secondOrder ? state.baseStates : []))
            parameters.withUnsafeMutableBufferPointer { applyUpdate(to: $0) }
            var validationGradient = [Float](repeating: 0, count: parameterCount)
            let validationLoss = parameters.withUnsafeBufferPointer { θ in
                validationGradient.withUnsafeMutableBufferPointer { v in
                    problem.validationLossAndGradient(parameters: θ, step: state.step, gradient: v)
                }
            }
            segment.validationLosses.append(validationLoss)
            segment.validationGradients.append(validationGradient)
        }
        return segment
    }
}

/// The records of consecutive steps with the validation loss and gradient after each.
struct RecordedSegment {
    var records: [StepRecord] = []
    var validationLosses: [Float] = []
    var validationGradients: [[Float]] = []
}
