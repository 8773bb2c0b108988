import Optimizers

extension L3RSOptimizer {
    /// Runs one truncation of T inner steps from (`parameters`, `state`) and returns ∂L_meta/∂φ by reverse
    /// mode through the unroll (docs/method.md §5). `objective` fixes L_meta; the default is docs/method.md's
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
        var reverse = ReversePass(optimizer: self, steps: steps, objective: objective)
        switch memory {
        case .storeAll:
            let segment = recordSegment(problem: problem, parameters: &parameters, state: &state,
                                        steps: steps, order: order)
            backpropagateSegment(segment, firstStep: 0, through: &reverse, order: order, problem: problem)
        case .recompute(let requestedLength):
            let segmentLength = min(max(1, requestedLength), steps)
            let snapshots = runKeepingSnapshots(problem: problem, parameters: &parameters, state: &state,
                                                steps: steps, segmentLength: segmentLength)
            let finalActivations = activations
            for snapshot in snapshots.reversed() {
                var segmentParameters = snapshot.parameters
                var segmentState = snapshot.state
                let count = min(segmentLength, steps - snapshot.start)
                let segment = recordSegment(problem: problem, parameters: &segmentParameters, state: &segmentState,
                                            steps: count, order: order)
                backpropagateSegment(segment, firstStep: snapshot.start, through: &reverse, order: order, problem: problem)
            }
            activations = finalActivations
        }
        return reverse.result(layerCount: layers.count)
    }

    /// A segment's records backwards, last step first: each step's validation seed into θ̄, then the step's
    /// reverse pass (`backpropagate(record:…)`).
    private func backpropagateSegment<Problem: InnerProblem>(
        _ segment: RecordedSegment, firstStep: Int, through reverse: inout ReversePass, order: MetaGradientOrder,
        problem: Problem
    ) {
        for j in segment.records.indices.reversed() {
            reverse.tally(segment.records[j].activations, validationLoss: segment.validationLosses[j],
                          step: firstStep + j, layerCount: layers.count, baseCount: rules.count)
            let seedScale = Float(reverse.lossWeights[firstStep + j])
            if seedScale != 0 {
                L3RSOptimizer.addScaled(segment.validationGradients[j], by: seedScale,
                                        to: &reverse.adjoint.parameters, range: 0..<parameterCount)
            }
            backpropagate(record: segment.records[j], adjoint: &reverse.adjoint, order: order, problem: problem)
        }
    }

    /// The recompute mode's forward pass: `steps` fused steps, keeping (θ, state) at the start of every
    /// segment of `segmentLength` steps.
    private mutating func runKeepingSnapshots<Problem: InnerProblem>(
        problem: Problem, parameters: inout [Float], state: inout L3RSState, steps: Int, segmentLength: Int
    ) -> [(start: Int, parameters: [Float], state: L3RSState)] {
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
        return snapshots
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

/// The reverse pass of one truncation: the adjoints carried from step to step, and what the result reports
/// (validation losses, the step-size penalty, and the sums of λ and μ for the meta-training log).
struct ReversePass {
    var adjoint: UnrollAdjoint
    let objective: MetaObjective
    /// w_t of the objective's weighting.
    let lossWeights: [Double]
    var validationLosses: [Float]
    /// Σ over steps and layers of clip(o_λ)².
    var penalty = 0.0
    /// Sums over the truncation's steps of λ_l and μ_l,p.
    var stepSizeSums: [Double]
    var mixingWeightSums: [Double]

    init(optimizer: L3RSOptimizer, steps: Int, objective: MetaObjective) {
        let layerCount = optimizer.layers.count
        adjoint = UnrollAdjoint(optimizer: optimizer)
        // d/do of ρ/(T·L) · o², per step and layer.
        adjoint.stepSizePenaltyScale = 2 * objective.stepSizePenalty / Double(steps * layerCount)
        self.objective = objective
        lossWeights = objective.weighting.weights(count: steps)
        validationLosses = [Float](repeating: 0, count: steps)
        stepSizeSums = [Double](repeating: 0, count: layerCount)
        mixingWeightSums = [Double](repeating: 0, count: layerCount * optimizer.rules.count)
    }

    /// Adds one recorded step's λ, μ, penalty and validation loss.
    mutating func tally(_ recorded: StepActivations, validationLoss: Float, step: Int, layerCount: Int, baseCount: Int) {
        validationLosses[step] = validationLoss
        for l in stepSizeSums.indices { stepSizeSums[l] += Double(recorded.stepSizes[l]) }
        for i in mixingWeightSums.indices { mixingWeightSums[i] += Double(recorded.mixingWeights[i]) }
        guard objective.stepSizePenalty != 0 else { return }
        for l in 0..<layerCount {
            let logStep = Double(recorded.outputs[l * (1 + baseCount)])
            let clipped = min(max(logStep, -StepOutputs.logStepBound), StepOutputs.logStepBound)
            penalty += clipped * clipped
        }
    }

    /// The truncation's result once every step is back-propagated.
    func result(layerCount: Int) -> MetaGradientResult {
        let steps = validationLosses.count
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
                                  stepSizePenalty: objective.stepSizePenalty * penalty / Double(steps * layerCount),
                                  gradient: adjoint.metaParameters,
                                  isFinite: MetaGradientCheck.isFinite(adjoint.metaParameters),
                                  meanStepSizes: stepSizeSums.map { Float($0 / Double(steps)) },
                                  meanMixingWeights: mixingWeightSums.map { Float($0 / Double(steps)) })
    }
}

/// The records of consecutive steps with the validation loss and gradient after each.
struct RecordedSegment {
    var records: [StepRecord] = []
    var validationLosses: [Float] = []
    var validationGradients: [[Float]] = []
}
