/// The outcome of one truncation of meta-training.
public struct MetaGradientResult: Sendable {
    /// L_meta = (1/T) Σ_t ℓ_val(θ_k+t).
    public var metaLoss: Double
    /// ℓ_val(θ_k+t) for t = 1...T.
    public var validationLosses: [Float]
    /// ∂L_meta/∂φ, aligned with `MetaParameters.values`; allreduce it across ranks before the meta-step.
    public var gradient: [Float]
    /// Whether every entry of `gradient` is finite (the meta-optimizer skips the step otherwise).
    public var isFinite: Bool
    /// λ_l averaged over the truncation's T steps, per layer (what the meta-training log reports).
    public var meanStepSizes: [Float]
    /// μ_l,p averaged over the truncation's steps, row-major [layer, base].
    public var meanMixingWeights: [Float]
}
