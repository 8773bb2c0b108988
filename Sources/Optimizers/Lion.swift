/// Lion (EvoLved Sign Momentum).
///
/// Chen et al., "Symbolic Discovery of Optimization Algorithms" (NeurIPS 2023), Program 1:
///
///     d = sign(β1·m + (1 − β1)·g)
///     m ← β2·m + (1 − β2)·g
///
/// The direction interpolates with the old m; the state update uses a different (slower) β2. Weight decay
/// is decoupled, θ ← θ − lr·(d + wd·θ), as in the paper. sign(0) = 0, matching `torch.sign`.
///
/// State: `firstMoment` = m. Jacobian: ∂d/∂· = 0 almost everywhere (sign is piecewise constant), so in
/// second-order meta-training Lion passes no adjoint to g or m through d; ∂m'/∂m = β2, ∂m'/∂g = 1 − β2.
public struct Lion: DirectionRule {
    public let beta1: Float
    public let beta2: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.99) {
        self.beta1 = beta1
        self.beta2 = beta2
    }

    public var name: String { "lion" }
    public var weightDecayCoupling: WeightDecayCoupling { .decoupled }

    public var stateSlots: OptimizerStateSlots { .firstMoment }

    public func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                        into direction: UnsafeMutablePointer<Float>) {
        guard let g = checkedGradientStart(range, of: gradient, state: state) else { return }
        let (beta1, beta2) = (self.beta1, self.beta2)
        let (oneMinusBeta1, oneMinusBeta2) = (1 - beta1, 1 - beta2)
        state.firstMoment.withUnsafeMutableBufferPointer { moment in
            let m = moment.baseAddress! + range.lowerBound
            for i in 0..<range.count {
                let gi = g[i]
                let interpolated = beta1 * m[i] + oneMinusBeta1 * gi
                // Branch-free sign with sign(0) = 0 (NaN also gives 0; the trainer's finiteness checks see it).
                direction[i] = (interpolated > 0 ? 1 : 0) - (interpolated < 0 ? 1 : 0)
                m[i] = beta2 * m[i] + oneMinusBeta2 * gi
            }
        }
    }
}

extension Lion: DifferentiableDirectionRule {
    /// m' = β2 m + (1 − β2) g; d = sign(·) contributes nothing (zero derivative almost everywhere).
    public func backpropagate(
        gradient g: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, directionAdjoint: UnsafeBufferPointer<Float>,
        stateAdjoint s̄: inout OptimizerState, gradientAdjoint ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        let (β2, oneMinusβ2) = (beta2, 1 - beta2)
        s̄.firstMoment.withUnsafeMutableBufferPointer { m̄ in
            for i in 0..<g.count {
                ḡ[i] += oneMinusβ2 * m̄[i]
                m̄[i] *= β2
            }
        }
    }
}
