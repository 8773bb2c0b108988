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
public struct Adam: DirectionRule {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public var name: String { "adam" }
    public var weightDecayCoupling: WeightDecayCoupling { .coupledL2 }

    public func makeState(count: Int) -> OptimizerState {
        OptimizerState(count: count, usesFirstMoment: true, usesSecondMoment: true)
    }

    public func direction(
        gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState,
        into direction: UnsafeMutableBufferPointer<Float>
    ) {
        checkDirectionShapes(name, gradient: gradient, direction: direction, state: state,
                             usesFirstMoment: true, usesSecondMoment: true)
        let t = Double(state.step + 1)
        // d = (m / c1) / (√v / √c2 + ε), rearranged so the loop multiplies by precomputed reciprocals.
        let firstCorrection = Float(1 / (1 - pow(Double(beta1), t)))
        let secondCorrectionRoot = Float(1 / (1 - pow(Double(beta2), t)).squareRoot())
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
        let (oneMinusBeta1, oneMinusBeta2) = (1 - beta1, 1 - beta2)
        state.firstMoment.withUnsafeMutableBufferPointer { m in
            state.secondMoment.withUnsafeMutableBufferPointer { v in
                // Sixteen lanes at a time through SIMD16: `Float.squareRoot()` in a scalar loop lowers to
                // sqrtss plus an errno fallback on Linux, which blocks vectorisation; the SIMD type's
                // squareRoot() is one vsqrtps per lane group. Same arithmetic, same rounding, per element.
                let count = gradient.count
                let blocks = count / 16
                let g = UnsafeRawPointer(gradient.baseAddress), mp = UnsafeMutableRawPointer(m.baseAddress)
                let vp = UnsafeMutableRawPointer(v.baseAddress), dp = UnsafeMutableRawPointer(direction.baseAddress)
                for b in 0..<blocks {
                    let offset = b * 16 * MemoryLayout<Float>.stride
                    let gi = g!.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                    let mi = beta1 * mp!.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) + oneMinusBeta1 * gi
                    let vi = beta2 * vp!.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) + oneMinusBeta2 * (gi * gi)
                    mp!.storeBytes(of: mi, toByteOffset: offset, as: SIMD16<Float>.self)
                    vp!.storeBytes(of: vi, toByteOffset: offset, as: SIMD16<Float>.self)
                    let d = (mi * firstCorrection) / (vi.squareRoot() * secondCorrectionRoot + epsilon)
                    dp!.storeBytes(of: d, toByteOffset: offset, as: SIMD16<Float>.self)
                }
                for i in (blocks * 16)..<count {
                    let g = gradient[i]
                    let mi = beta1 * m[i] + oneMinusBeta1 * g
                    let vi = beta2 * v[i] + oneMinusBeta2 * (g * g)
                    m[i] = mi
                    v[i] = vi
                    direction[i] = (mi * firstCorrection) / (vi.squareRoot() * secondCorrectionRoot + epsilon)
                }
            }
        }
        state.step += 1
    }
}
