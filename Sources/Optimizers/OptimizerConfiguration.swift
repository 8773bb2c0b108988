/// Everything that defines a hand-designed optimizer run, as the command-line and YAML layers write it.
///
/// Per-group rules (a 10× head multiplier, no decay on biases and norms) are not here: they depend on the
/// model's layer table, so the caller builds `[ParameterGroup]` and passes it to `HandDesignedOptimizer`.
public struct OptimizerConfiguration: Sendable, Equatable {
    public var optimizer: OptimizerKind
    /// Base learning rate, before the schedule and group multipliers.
    public var learningRate: Double
    /// Weight decay; coupled into the gradient or decoupled according to the optimizer (see `WeightDecayCoupling`).
    public var weightDecay: Double
    public var schedule: ScheduleKind
    /// Linear warm-up steps; used by "warmup-cosine" and "linear".
    public var warmupSteps: Int
    /// Steps over which "cosine", "warmup-cosine" and "linear" decay (warm-up included); required by them.
    public var totalSteps: Int?
    /// Fraction of the base learning rate that cosine decay ends at.
    public var finalLearningRateFraction: Double
    /// Global-norm clipping threshold; nil for no clipping.
    public var maxGradientNorm: Double?

    public init(optimizer: OptimizerKind, learningRate: Double, weightDecay: Double = 0,
                schedule: ScheduleKind = .constant, warmupSteps: Int = 0, totalSteps: Int? = nil,
                finalLearningRateFraction: Double = 0, maxGradientNorm: Double? = nil) {
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.finalLearningRateFraction = finalLearningRateFraction
        self.maxGradientNorm = maxGradientNorm
    }

    /// Throws the first inconsistency found, so `validate()` of a command can fail before any work starts.
    public func validate() throws(OptimizerConfigurationError) {
        if !(learningRate.isFinite && learningRate > 0) {
            throw .invalidValue(field: "learning rate", value: "\(learningRate)", requirement: "must be finite and > 0")
        }
        if !(weightDecay.isFinite && weightDecay >= 0) {
            throw .invalidValue(field: "weight decay", value: "\(weightDecay)", requirement: "must be finite and >= 0")
        }
        if warmupSteps < 0 {
            throw .invalidValue(field: "warm-up steps", value: "\(warmupSteps)", requirement: "must be >= 0")
        }
        if !(finalLearningRateFraction >= 0 && finalLearningRateFraction <= 1) {
            throw .invalidValue(field: "final learning-rate fraction", value: "\(finalLearningRateFraction)",
                                requirement: "must lie in [0, 1]")
        }
        if let maxGradientNorm, !(maxGradientNorm.isFinite && maxGradientNorm > 0) {
            throw .invalidValue(field: "max gradient norm", value: "\(maxGradientNorm)",
                                requirement: "must be finite and > 0 (omit it to disable clipping)")
        }
        if schedule != .constant {
            guard let totalSteps, totalSteps > 0 else {
                throw .invalidValue(field: "total steps", value: totalSteps.map { "\($0)" } ?? "(missing)",
                                    requirement: "schedule '\(schedule.rawValue)' needs total steps > 0")
            }
            if (schedule == .warmupCosine || schedule == .linear) && warmupSteps > totalSteps {
                throw .invalidValue(field: "warm-up steps", value: "\(warmupSteps)",
                                    requirement: "must not exceed total steps \(totalSteps)")
            }
        }
    }

    /// The schedule this configuration describes (validated first).
    public func makeSchedule() throws(OptimizerConfigurationError) -> LearningRateSchedule {
        try validate()
        switch schedule {
        case .constant:
            return .constant
        case .cosine:
            return .cosine(totalSteps: totalSteps ?? 0, finalFraction: finalLearningRateFraction)
        case .warmupCosine:
            return .warmupCosine(warmupSteps: warmupSteps, totalSteps: totalSteps ?? 0,
                                 finalFraction: finalLearningRateFraction)
        case .linear:
            return LearningRateSchedule(warmupSteps: warmupSteps,
                                        decay: .linear(totalSteps: totalSteps ?? 0, finalFraction: finalLearningRateFraction))
        }
    }
}

extension OptimizerConfiguration: Codable {
    enum CodingKeys: String, CodingKey {
        case optimizer, learningRate, weightDecay, schedule, warmupSteps, totalSteps
        case finalLearningRateFraction, maxGradientNorm
    }

    /// Only `optimizer` and `learningRate` are required; everything else takes the `init` defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            optimizer: try c.decode(OptimizerKind.self, forKey: .optimizer),
            learningRate: try c.decode(Double.self, forKey: .learningRate),
            weightDecay: try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? 0,
            schedule: try c.decodeIfPresent(ScheduleKind.self, forKey: .schedule) ?? .constant,
            warmupSteps: try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? 0,
            totalSteps: try c.decodeIfPresent(Int.self, forKey: .totalSteps),
            finalLearningRateFraction: try c.decodeIfPresent(Double.self, forKey: .finalLearningRateFraction) ?? 0,
            maxGradientNorm: try c.decodeIfPresent(Double.self, forKey: .maxGradientNorm)
        )
    }
}
