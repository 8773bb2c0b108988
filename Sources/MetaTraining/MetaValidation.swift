import LearnedOptimizer

/// The held-out score of one φ: `validationTasks` inner runs that meta-training never trains on (their own
/// head seeds and data orders) fine-tuned for `validationSteps` steps with φ, scored on the meta-validation
/// split in evaluation mode. Identical on every rank.
public struct MetaValidation: Sendable, Equatable {
    /// Held-out loss averaged over every step of every task's unroll (the meta-objective's form, lower is
    /// better): the score that picks the best φ.
    public var meanLoss: Double
    /// Held-out accuracy after the last step, averaged over the tasks.
    public var finalAccuracy: Double
    /// This φ is the best so far (it became `MetaTrainer.best`).
    public var isBest: Bool
}

/// The best φ found by meta-validation, kept so the learned optimizer a run ships is the best it saw, not
/// merely the last.
public struct ValidatedMetaParameters: Sendable, Equatable {
    public var metaParameters: MetaParameters
    public var meanLoss: Double
    public var metaStep: Int
}
