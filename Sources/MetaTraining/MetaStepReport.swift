import LearnedOptimizer

/// What one meta-step did, for metrics.jsonl and the progress line (identical on every rank).
public struct MetaStepReport: Sendable {
    /// Meta-steps completed, this one included.
    public var metaStep: Int
    /// The inner run advanced and the inner step its truncation started from.
    public var run: Int
    public var innerStep: Int
    public var truncation: Int
    /// L_meta of the truncation (global).
    public var metaLoss: Double
    /// The step-size penalty term of the objective (0 without one).
    public var stepSizePenalty: Double = 0
    /// The global meta-gradient's norm before clipping (NaN when non-finite).
    public var gradientNorm: Double
    public var clipScale: Double
    /// The meta-gradient was non-finite: φ unchanged.
    public var skipped: Bool
    /// The inner run restarted before this truncation (at its horizon or after non-finite parameters).
    public var restarted: Bool
    /// The inner run's parameters became non-finite in this truncation; it restarts next time.
    public var innerNonFinite: Bool
    /// λ_l and μ_l,p averaged over the truncation.
    public var meanStepSizes: [Float]
    public var meanMixingWeights: [Float]
    /// A rank received SIGTERM or SIGINT: every rank stops after this step.
    public var stopRequested: Bool
    /// The held-out meta-validation of φ after this step, when one was due.
    public var validation: MetaValidation? = nil
}
