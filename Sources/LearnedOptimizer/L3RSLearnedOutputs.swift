import Choices

/// Which of the MLP's outputs drive the update: both (the method), or one of them with the other held fixed,
/// the ablations that say how much each output contributes (docs/method.md §7).
public enum L3RSLearnedOutputs: String, ConfigurationChoice {
    /// λ_l and μ_l both from the MLP (the method).
    case stepSizeAndMixing
    /// λ_l from the MLP; μ_l fixed uniform (1/P for every base optimizer), so only the step size is learned.
    case stepSizeOnly
    /// μ_l from the MLP; λ_l fixed at λ0, so only the mix of base directions is learned.
    case mixingOnly

    /// Whether λ comes from the MLP (else it is λ0).
    var learnsStepSize: Bool { self != .mixingOnly }
    /// Whether μ comes from the MLP (else it is uniform).
    var learnsMixing: Bool { self != .stepSizeOnly }
}
