import Choices

/// How a meta-step estimates the gradient of the meta-objective with respect to φ (docs/method.md,
/// "Estimators").
public enum MetaGradientEstimator: String, ConfigurationChoice {
    /// Reverse mode through the truncation's unroll (first or second order): exact for the truncated
    /// objective, one forward and one reverse pass per task, data-parallel over the ranks.
    case truncatedBackprop
    /// Antithetic evolution strategies (the paper's estimator): pairs of perturbations φ ± σε, each pair's
    /// unrolls run whole on one rank, the estimates averaged over pairs and ranks. Needs no reverse pass and
    /// no smoothness, but its variance grows with the number of meta-parameters.
    case antitheticES
    /// Persistent evolution strategies (PES, antithetic): like antitheticES, but every pair keeps its two
    /// perturbed inner runs and the sum ξ of its perturbations across the truncations of a run's incarnation,
    /// which makes the estimate unbiased for the whole run instead of the truncation (docs/method.md §5).
    case pes
}
