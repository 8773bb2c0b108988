import Optimizers

/// What the reverse pass needs of one inner step: θ_k before the step, the step's activations and, in
/// second-order mode, the training gradient and the base states after the step (their Jacobians read them).
struct StepRecord: Sendable {
    var parameters: [Float]
    var activations: StepActivations
    /// g_k (second order only, else empty).
    var gradient: [Float]
    /// s_k+1 of every base rule (second order only, else empty).
    var baseStatesAfter: [OptimizerState]
}
