/// A direction rule that also states the reverse mode of its transition `(s_k, g_k) ↦ (s_k+1, d_k)`, for
/// L3RS's second-order meta-gradients (docs/method.md §5).
///
/// A separate protocol rather than a requirement with a trapping default: L3RS holds its base rules as
/// `any DifferentiableDirectionRule`, so a rule without an adjoint cannot be made an L3RS base rule at all
/// (compile time), instead of failing in the middle of a second-order meta-training run. Each rule's adjoint
/// lives in the rule's own file, beside the forward formulas and Jacobian it documents.
public protocol DifferentiableDirectionRule: DirectionRule {
    /// Given d̄ (the adjoint of this step's direction) and s̄_k+1 in `stateAdjoint`, adds the rule's
    /// contribution to ḡ_k (`gradientAdjoint`, +=) and turns `stateAdjoint` into s̄_k. `stateAfter` is
    /// s_k+1 (its step counter already advanced), `gradient` is g_k; all buffers have the same count.
    func backpropagate(
        gradient: UnsafeBufferPointer<Float>,
        stateAfter: OptimizerState,
        directionAdjoint: UnsafeBufferPointer<Float>,
        stateAdjoint: inout OptimizerState,
        gradientAdjoint: UnsafeMutableBufferPointer<Float>
    )
}
