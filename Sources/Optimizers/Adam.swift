import CVectorKernels
import Kernels
import Foundation

/// Adam with bias correction.
///
/// Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), Algorithm 1, with ε added to
/// √v̂ as in the paper and in `torch.optim.Adam`:
///
///     t ← t + 1
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     d = m̂ / (√v̂ + ε),   m̂ = m / (1 − β1^t),   v̂ = v / (1 − β2^t)
///
/// State: `firstMoment` = m, `secondMoment` = v, `step` = t before the update. The bias corrections are
/// per-step scalars, computed in Double. Jacobian (element-wise, c1 = 1 − β1^t, c2 = 1 − β2^t,
/// r = √(v/c2)): ∂m'/∂m = β1, ∂m'/∂g = 1 − β1, ∂v'/∂v = β2, ∂v'/∂g = 2(1 − β2)g,
/// ∂d/∂m' = 1 / (c1·(r + ε)), ∂d/∂v' = −m' / (c1·(r + ε)²·2r·c2).
///
/// On the first step m̂ = g and v̂ = g², so d = g / (|g| + ε) ≈ sign(g): a unit-size step per element.
public struct Adam: DirectionRule, Equatable {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// 1/c1 = 1/(1 − β1^t) and 1/√c2 = 1/√(1 − β2^t) of step t (1 for the first step), in Double, then
    /// Float: the per-step scalars of `advance`, of its adjoint and of the meta-optimizer (LearnedOptimizer).
    public func biasCorrections(step t: Int) -> (first: Float, secondRoot: Float) {
        (Float(1 / (1 - pow(Double(beta1), Double(t)))), Float(1 / (1 - pow(Double(beta2), Double(t))).squareRoot()))
    }

    public var name: String { "adam" }
    public var weightDecayCoupling: WeightDecayCoupling { .coupledL2 }

    public var stateSlots: OptimizerStateSlots { [.firstMoment, .secondMoment] }

    public func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                        into direction: UnsafeMutablePointer<Float>) {
        guard let g = checkedGradientStart(range, of: gradient, state: state) else { return }
        // d = (m / c1) / (√v / √c2 + ε), rearranged so the loop multiplies by precomputed reciprocals.
        let (firstCorrection, secondCorrectionRoot) = biasCorrections(step: state.step + 1)
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
        // The loop lives in C (CVectorKernels): Swift lowers `Float.squareRoot()` to a scalar sqrtss with an
        // errno fallback on Linux, even inside SIMD types, which keeps the whole loop scalar.
        state.firstMoment.withUnsafeMutableBufferPointer { m in
            state.secondMoment.withUnsafeMutableBufferPointer { v in
                let (m, v) = (m.baseAddress! + range.lowerBound, v.baseAddress! + range.lowerBound)
                // Element by element, so the pool's chunks give the serial loop's bits.
                WorkerPool.elementwise(count: range.count) { part in
                    let at = part.lowerBound
                    l3rs_adam_direction(g + at, m + at, v + at, direction + at, part.count,
                                        beta1, beta2, firstCorrection, secondCorrectionRoot, epsilon)
                }
            }
        }
    }
}

extension Adam: DifferentiableDirectionRule {
    /// m' = β1 m + (1−β1) g, v' = β2 v + (1−β2) g², d = m' c1⁻¹ / (√v' c2^−½ + ε), with the Jacobian above.
    public func backpropagate(
        gradient g: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, directionAdjoint d̄: UnsafeBufferPointer<Float>,
        stateAdjoint s̄: inout OptimizerState, gradientAdjoint ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        // The same per-step corrections as `advance`, whose step counter was t − 1 when it ran.
        let (firstCorrection, secondCorrectionRoot) = biasCorrections(step: stateAfter.step)
        let (β1, β2, ε) = (beta1, beta2, epsilon)
        let m = stateAfter.firstMoment
        let v = stateAfter.secondMoment
        s̄.firstMoment.withUnsafeMutableBufferPointer { m̄ in
            s̄.secondMoment.withUnsafeMutableBufferPointer { v̄ in
                for i in 0..<g.count {
                    let root = v[i].squareRoot()
                    let denominator = root * secondCorrectionRoot + ε
                    let dm = firstCorrection / denominator
                    let dv: Float = root > 0
                        ? -m[i] * firstCorrection * secondCorrectionRoot / (denominator * denominator * 2 * root)
                        : 0
                    let mTotal = m̄[i] + d̄[i] * dm
                    let vTotal = v̄[i] + d̄[i] * dv
                    ḡ[i] += (1 - β1) * mTotal + 2 * (1 - β2) * g[i] * vTotal
                    m̄[i] = β1 * mTotal
                    v̄[i] = β2 * vTotal
                }
            }
        }
    }
}
