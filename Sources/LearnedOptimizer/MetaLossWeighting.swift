import Choices

/// How the meta-loss weights the validation losses after the T steps of a truncation:
/// L_meta = Σ_t w_t ℓ_val(θ_k+t) with Σ_t w_t = 1.
///
/// Why more than docs/method.md's uniform mean: a truncated meta-objective is greedy. Averaging the validation
/// loss over only T steps rewards whatever lowers the loss soonest, and a smaller step size lowers the noise
/// of the very next iterates; meta-training with the uniform mean therefore tends to shrink λ even where a
/// longer run would want it kept or raised (short-horizon bias). Putting the weight on the end of the
/// truncation scores where the steps lead, not the path there, which weakens that bias at no extra cost.
public enum MetaLossWeighting: String, ConfigurationChoice {
    /// w_t = 1/T: docs/method.md §5's mean over the truncation (the default).
    case uniform
    /// w_t = 2t / (T(T+1)): later steps count more, linearly.
    case linear
    /// w_T = 1, every other w_t = 0: the validation loss at the end of the truncation only.
    case final

    /// w_1 ... w_T for a truncation of `count` steps; they sum to 1.
    public func weights(count: Int) -> [Double] {
        precondition(count >= 1, "MetaLossWeighting: a truncation has at least one step")
        switch self {
        case .uniform:
            return [Double](repeating: 1 / Double(count), count: count)
        case .linear:
            let total = Double(count * (count + 1)) / 2
            return (1...count).map { Double($0) / total }
        case .final:
            var weights = [Double](repeating: 0, count: count)
            weights[count - 1] = 1
            return weights
        }
    }
}
