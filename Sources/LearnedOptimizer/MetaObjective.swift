/// The meta-objective one truncation's meta-gradient differentiates:
///
///     L_meta = Σ_t w_t ℓ_val(θ_k+t)  +  ρ · (1/(T·L)) Σ_t Σ_l clip(o_λ,l,t)²
///
/// with the weights w_t of `weighting` and the step-size penalty ρ (`stepSizePenalty`). The default is
/// docs/method.md §5's objective: the uniform mean and no penalty.
///
/// Why the penalty: clip(o_λ) = log(λ/λ0), so the term anchors the learned step sizes at λ0 in log space.
/// It is a counterweight to short-horizon bias (see `MetaLossWeighting`): the validation losses of a short
/// truncation keep pulling λ down a little at every meta-step; the penalty lets λ move only as far as the
/// validation losses pay for it. ρ is in units of validation loss per squared log-step.
public struct MetaObjective: Sendable, Equatable, Codable {
    public var weighting: MetaLossWeighting
    /// ρ ≥ 0.
    public var stepSizePenalty: Double

    public init(weighting: MetaLossWeighting = .uniform, stepSizePenalty: Double = 0) {
        self.weighting = weighting
        self.stepSizePenalty = stepSizePenalty
    }

    /// docs/method.md §5's objective.
    public static let standard = MetaObjective()
}
