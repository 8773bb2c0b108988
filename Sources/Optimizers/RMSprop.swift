/// RMSprop, uncentred, without momentum, in `torch.optim.RMSprop`'s form (defaults α 0.99, ε 1e-8).
///
/// Tieleman & Hinton, "Lecture 6.5 — RMSprop: Divide the gradient by a running average of its recent
/// magnitude" (COURSERA: Neural Networks for Machine Learning, 2012):
///
///     v ← α·v + (1 − α)·g²
///     d = g / (√v + ε)
///
/// No bias correction (PyTorch has none), so early steps are large: on step 1, d = g / (0.1·|g| + ε) ≈ 10·sign(g).
///
/// State: `secondMoment` = v. Jacobian (element-wise): ∂v'/∂v = α, ∂v'/∂g = 2(1 − α)g,
/// ∂d/∂g|_v' = 1 / (√v' + ε), ∂d/∂v' = −g / ((√v' + ε)²·2√v').
public struct RMSprop: DirectionRule {
    /// Smoothing constant α of the running average of g².
    public let alpha: Float
    public let epsilon: Float

    public init(alpha: Float = 0.99, epsilon: Float = 1e-8) {
        self.alpha = alpha
        self.epsilon = epsilon
    }

    public var name: String { "rmsprop" }
    public var weightDecayCoupling: WeightDecayCoupling { .coupledL2 }

    public var stateSlots: OptimizerStateSlots { .secondMoment }

    public func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                        into direction: UnsafeMutablePointer<Float>) {
        guard let g = checkedGradientStart(range, of: gradient, state: state) else { return }
        let (alpha, epsilon) = (self.alpha, self.epsilon)
        let oneMinusAlpha = 1 - alpha
        state.secondMoment.withUnsafeMutableBufferPointer { second in
            let v = second.baseAddress! + range.lowerBound
            for i in 0..<range.count {
                let gi = g[i]
                let vi = alpha * v[i] + oneMinusAlpha * (gi * gi)
                v[i] = vi
                direction[i] = gi / (vi.squareRoot() + epsilon)
            }
        }
    }
}

extension RMSprop: DifferentiableDirectionRule {
    /// v' = α v + (1−α) g², d = g / (√v' + ε), with the Jacobian above.
    public func backpropagate(
        gradient g: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, directionAdjoint d̄: UnsafeBufferPointer<Float>,
        stateAdjoint s̄: inout OptimizerState, gradientAdjoint ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        let (α, ε) = (alpha, epsilon)
        let v = stateAfter.secondMoment
        s̄.secondMoment.withUnsafeMutableBufferPointer { v̄ in
            for i in 0..<g.count {
                let root = v[i].squareRoot()
                let denominator = root + ε
                let dv: Float = root > 0 ? -g[i] / (denominator * denominator * 2 * root) : 0
                let vTotal = v̄[i] + d̄[i] * dv
                ḡ[i] += d̄[i] / denominator + 2 * (1 - α) * g[i] * vTotal
                v̄[i] = α * vTotal
            }
        }
    }
}
