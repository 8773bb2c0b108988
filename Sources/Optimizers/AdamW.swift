/// AdamW: Adam's direction with decoupled weight decay.
///
/// Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019), Algorithm 2, in the form of
/// `torch.optim.AdamW`: θ ← θ − lr·wd·θ − lr·d with d Adam's bias-corrected direction. The direction is
/// exactly `Adam`'s (this type delegates to it, so the two cannot diverge); only the weight-decay coupling
/// differs, and that is applied by `ParameterUpdate`, not here.
public struct AdamW: DirectionRule {
    /// The Adam rule that computes the direction.
    public let adam: Adam

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        adam = Adam(beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public var name: String { "adamw" }
    public var weightDecayCoupling: WeightDecayCoupling { .decoupled }

    public var stateSlots: OptimizerStateSlots { adam.stateSlots }

    public func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                        into direction: UnsafeMutablePointer<Float>) {
        adam.advance(range, gradient: gradient, state: &state, into: direction)
    }
}

extension AdamW: DifferentiableDirectionRule {
    /// Adam's adjoint: the direction is Adam's (weight decay is not part of the direction).
    public func backpropagate(
        gradient: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, directionAdjoint: UnsafeBufferPointer<Float>,
        stateAdjoint: inout OptimizerState, gradientAdjoint: UnsafeMutableBufferPointer<Float>
    ) {
        adam.backpropagate(gradient: gradient, stateAfter: stateAfter, directionAdjoint: directionAdjoint,
                           stateAdjoint: &stateAdjoint, gradientAdjoint: gradientAdjoint)
    }
}
