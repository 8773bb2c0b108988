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

    public func makeState(count: Int) -> OptimizerState {
        OptimizerState(count: count, usesFirstMoment: false, usesSecondMoment: false)
    }

    public func direction(
        gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState,
        into direction: UnsafeMutableBufferPointer<Float>
    ) {
        checkDirectionShapes(name, gradient: gradient, direction: direction, state: state,
                             usesFirstMoment: false, usesSecondMoment: false)
        for i in 0..<gradient.count {
            direction[i] = gradient[i]
        }
        state.step += 1
    }
}
