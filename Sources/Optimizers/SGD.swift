/// Plain stochastic gradient descent: d = g.
///
/// Robbins & Monro, "A Stochastic Approximation Method" (1951). Stateless apart from the step counter,
/// which it still advances so that every rule's `state.step` counts the same thing.
///
/// Jacobian: ∂d/∂g = I; there is no state to differentiate.
public struct SGD: DirectionRule {
    public init() {}

    public var name: String { "sgd" }
    public var weightDecayCoupling: WeightDecayCoupling { .coupledL2 }

    public var stateSlots: OptimizerStateSlots { [] }

    public func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                        into direction: UnsafeMutablePointer<Float>) {
        guard let g = checkedGradientStart(range, of: gradient, state: state) else { return }
        direction.update(from: g, count: range.count)
    }

    public var directionSource: DirectionSource { .gradient }

    public func rebuildDirection(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: OptimizerState,
                                 into direction: UnsafeMutablePointer<Float>) {
        guard let g = gradient.baseAddress, !range.isEmpty else { return }
        direction.update(from: g + range.lowerBound, count: range.count)
    }
}

extension SGD: DifferentiableDirectionRule {
    /// d = g: ḡ += d̄; no state.
    public func backpropagate(
        gradient: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, directionAdjoint d̄: UnsafeBufferPointer<Float>,
        stateAdjoint: inout OptimizerState, gradientAdjoint ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        for i in 0..<gradient.count { ḡ[i] += d̄[i] }
    }
}
