/// Heavy-ball momentum, optionally Nesterov, in PyTorch's convention (no dampening).
///
/// Polyak, "Some methods of speeding up the convergence of iteration methods" (1964); Nesterov's variant as
/// reformulated by Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in
/// deep learning" (ICML 2013), in the form `torch.optim.SGD(momentum=β, nesterov=True)` uses.
///
///     m ← β·m + g
///     d = m              (heavy ball)
///     d = g + β·m        (Nesterov, with the updated m)
///
/// State: `firstMoment` = m. Jacobian: ∂m'/∂m = β·I, ∂m'/∂g = I; heavy ball ∂d/∂m = β·I, ∂d/∂g = I;
/// Nesterov ∂d/∂m = β²·I, ∂d/∂g = (1 + β)·I.
public struct Momentum: DirectionRule {
    /// Momentum coefficient β (0.9 by default, as in method.md §2).
    public let beta: Float
    /// Use Nesterov's look-ahead direction d = g + β·m instead of d = m.
    public let nesterov: Bool

    public init(beta: Float = 0.9, nesterov: Bool = false) {
        self.beta = beta
        self.nesterov = nesterov
    }

    public var name: String { nesterov ? "nesterov" : "momentum" }
    public var weightDecayCoupling: WeightDecayCoupling { .coupledL2 }

    public func makeState(count: Int) -> OptimizerState {
        OptimizerState(count: count, usesFirstMoment: true, usesSecondMoment: false)
    }

    public func direction(
        gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState,
        into direction: UnsafeMutableBufferPointer<Float>
    ) {
        checkDirectionShapes(name, gradient: gradient, direction: direction, state: state,
                             usesFirstMoment: true, usesSecondMoment: false)
        let beta = self.beta
        state.firstMoment.withUnsafeMutableBufferPointer { m in
            if nesterov {
                for i in 0..<gradient.count {
                    let g = gradient[i]
                    let updated = beta * m[i] + g
                    m[i] = updated
                    direction[i] = g + beta * updated
                }
            } else {
                for i in 0..<gradient.count {
                    let updated = beta * m[i] + gradient[i]
                    m[i] = updated
                    direction[i] = updated
                }
            }
        }
        state.step += 1
    }
}
