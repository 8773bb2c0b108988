/// A hand-designed baseline optimizer: one `DirectionRule` plus learning rate, schedule, parameter groups,
/// weight decay and optional clipping, over the model's flat parameter and gradient buffers.
///
/// One step is, in PyTorch's order (clip_grad_norm_, then optimizer.step):
///
///     ĝ = clip(g)                                   (global norm, if configured)
///     ĝ ← ĝ + wd·θ  in decayed groups               (coupled rules only)
///     d = rule.direction(ĝ, &state)                 (the same code L3RS uses as a base direction)
///     θ ← θ − lr_k·m_g·(d + wd·θ)  or  θ − lr_k·m_g·d   (decoupled rules / coupled rules)
///
/// with lr_k = learningRate × schedule(k), k = `state.step`, and m_g the group multiplier (a group with its own
/// schedule uses learningRate × schedule_g(k) instead of lr_k). The whole trainer
/// state is `state` (plus the parameters), so a checkpoint or a replay needs nothing else. The two scratch
/// buffers are allocated once; a step allocates nothing.
public struct HandDesignedOptimizer: Sendable {
    public let rule: any DirectionRule
    public let groups: [ParameterGroup]
    public let learningRate: Double
    public let weightDecay: Double
    public let schedule: LearningRateSchedule
    public let maxGradientNorm: Double?
    /// The rule's state; `state.step` is the number of updates applied.
    public var state: OptimizerState

    /// The gradient after clipping and coupled weight decay.
    private var effectiveGradient: [Float]
    /// The rule's direction of the last step.
    private var directionBuffer: [Float]

    /// What one step did, for logs.
    public struct StepReport: Sendable, Equatable {
        /// The step index k the update used (0 for the first update).
        public var step: Int
        /// The scheduled base learning rate lr_k (before group multipliers).
        public var learningRate: Double
        /// Global norm of the incoming gradient, before clipping (computed in Double).
        public var gradientNorm: Double
        /// True when the gradient norm was not finite: parameters and state were left untouched.
        public var skipped: Bool
    }

    public init(rule: any DirectionRule, parameterCount: Int, groups: [ParameterGroup]? = nil,
                learningRate: Double, weightDecay: Double = 0, schedule: LearningRateSchedule = .constant,
                maxGradientNorm: Double? = nil) throws(ParameterGroupError) {
        let groups = groups ?? ParameterGroup.whole(count: parameterCount)
        try ParameterGroup.validate(groups, parameterCount: parameterCount)
        self.rule = rule
        self.groups = groups
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.maxGradientNorm = maxGradientNorm
        state = rule.makeState(count: parameterCount)
        effectiveGradient = [Float](repeating: 0, count: parameterCount)
        directionBuffer = [Float](repeating: 0, count: parameterCount)
    }

    /// Builds the optimizer a configuration describes; throws its validation or group errors.
    public init(configuration: OptimizerConfiguration, parameterCount: Int,
                groups: [ParameterGroup]? = nil) throws {
        try self.init(rule: configuration.optimizer.makeRule(), parameterCount: parameterCount, groups: groups,
                      learningRate: configuration.learningRate, weightDecay: configuration.weightDecay,
                      schedule: try configuration.makeSchedule(), maxGradientNorm: configuration.maxGradientNorm)
    }

    /// Applies one update to `parameters` from `gradient` (which is left unchanged). `gradientNorm`: the norm of
    /// the whole gradient when `gradient` is only one rank's shard of it (sharded optimizer state), so that
    /// clipping scales every shard alike; nil computes it from `gradient`.
    @discardableResult
    public mutating func step(parameters: UnsafeMutableBufferPointer<Float>,
                              gradient: UnsafeBufferPointer<Float>, gradientNorm: Double? = nil) -> StepReport {
        precondition(parameters.count == effectiveGradient.count && gradient.count == effectiveGradient.count,
                     "HandDesignedOptimizer: expected \(effectiveGradient.count) parameters and gradients, "
                     + "got \(parameters.count) and \(gradient.count)")
        let stepIndex = state.step
        let scheduledRate = learningRate * schedule.multiplier(atStep: stepIndex)
        let norm = gradientNorm ?? GradientClipping.globalNorm(gradient)
        guard norm.isFinite else {
            return StepReport(step: stepIndex, learningRate: scheduledRate, gradientNorm: norm, skipped: true)
        }
        let clipScale = Float(maxGradientNorm.map { GradientClipping.scale(forNorm: norm, maxNorm: $0) } ?? 1)
        let coupling = rule.weightDecayCoupling
        let (rule, weightDecay) = (self.rule, self.weightDecay)
        // Groups with their own schedule fold it into their multiplier over the unscheduled rate; without any,
        // the product stays (lr·s_k)·m_g exactly as before.
        let perGroup = groups.contains { $0.schedule != nil }
        let groups = perGroup ? groups.map { group in
            var scheduled = group
            scheduled.learningRateMultiplier *= (group.schedule ?? schedule).multiplier(atStep: stepIndex)
            return scheduled
        } : self.groups
        let updateRate = perGroup ? learningRate : scheduledRate
        effectiveGradient.withUnsafeMutableBufferPointer { effective in
            // One pass: clipping scale and (for coupled rules) weight decay folded into the copy.
            ParameterUpdate.addCoupledWeightDecay(
                gradient: gradient, gradientScale: clipScale, parameters: UnsafeBufferPointer(parameters),
                groups: groups, weightDecay: coupling == .coupledL2 ? Float(weightDecay) : 0, into: effective)
            directionBuffer.withUnsafeMutableBufferPointer { direction in
                rule.direction(gradient: UnsafeBufferPointer(effective), state: &state, into: direction)
                ParameterUpdate.apply(
                    direction: UnsafeBufferPointer(direction), to: parameters, groups: groups,
                    learningRate: updateRate,
                    decoupledWeightDecay: coupling == .decoupled ? weightDecay : 0)
            }
        }
        return StepReport(step: stepIndex, learningRate: scheduledRate, gradientNorm: norm, skipped: false)
    }

    /// Array convenience for tests and small callers.
    @discardableResult
    public mutating func step(parameters: inout [Float], gradient: [Float]) -> StepReport {
        gradient.withUnsafeBufferPointer { g in
            parameters.withUnsafeMutableBufferPointer { p in step(parameters: p, gradient: g) }
        }
    }
}
