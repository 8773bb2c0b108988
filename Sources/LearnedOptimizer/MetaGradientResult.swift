/// The outcome of one truncation of meta-training.
public struct MetaGradientResult: Sendable {
    /// The validation part of the meta-objective, Σ_t w_t ℓ_val(θ_k+t) (with docs/method.md's uniform weights,
    /// (1/T) Σ_t ℓ_val(θ_k+t)).
    public var metaLoss: Double
    /// ℓ_val(θ_k+t) for t = 1...T.
    public var validationLosses: [Float]
    /// The step-size penalty term of the objective, ρ/(T·L) Σ clip(o_λ)² (0 without a penalty). Kept apart
    /// from `metaLoss` so meta-losses stay comparable between runs with and without it; identical on every
    /// rank, so it is not reduced.
    public var stepSizePenalty: Double = 0
    /// ∂(metaLoss + stepSizePenalty)/∂φ, aligned with `MetaParameters.values`; allreduce it across ranks
    /// before the meta-step.
    public var gradient: [Float]
    /// Whether every entry of `gradient` is finite (the meta-optimizer skips the step otherwise).
    public var isFinite: Bool
    /// λ_l averaged over the truncation's T steps, per layer (what the meta-training log reports).
    public var meanStepSizes: [Float]
    /// μ_l,p averaged over the truncation's steps, row-major [layer, base].
    public var meanMixingWeights: [Float]
}
