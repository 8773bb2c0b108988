import Foundation
import Optimizers

/// Reverse mode through one base-rule transition (s_k, g_k) ↦ (s_k+1, d_k), for second-order
/// meta-gradients: given d̄ and s̄_k+1, adds the rule's contribution to ḡ_k and turns s̄_k+1 into s̄_k.
///
/// Written against the formulas each rule documents in the Optimizers module (their Jacobians), using the
/// state after the step and the gradient; lion's sign passes nothing through d (zero derivative a.e.).
enum BaseRuleAdjoint {
    static func backpropagate(
        rule: any DirectionRule,
        gradient g: UnsafeBufferPointer<Float>,
        stateAfter: OptimizerState,
        directionAdjoint d̄: UnsafeBufferPointer<Float>,
        stateAdjoint s̄: inout OptimizerState,
        gradientAdjoint ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        switch rule {
        case is SGD:
            for i in 0..<g.count { ḡ[i] += d̄[i] }
        case let momentum as Momentum:
            momentumAdjoint(momentum, d̄: d̄, s̄: &s̄, ḡ: ḡ)
        case let adam as Adam:
            adamAdjoint(adam, g: g, stateAfter: stateAfter, d̄: d̄, s̄: &s̄, ḡ: ḡ)
        case let adamW as AdamW:
            adamAdjoint(adamW.adam, g: g, stateAfter: stateAfter, d̄: d̄, s̄: &s̄, ḡ: ḡ)
        case let lion as Lion:
            // m' = β2 m + (1 − β2) g; d = sign(·) contributes nothing.
            let (β2, oneMinusβ2) = (lion.beta2, 1 - lion.beta2)
            s̄.firstMoment.withUnsafeMutableBufferPointer { m̄ in
                for i in 0..<g.count {
                    ḡ[i] += oneMinusβ2 * m̄[i]
                    m̄[i] *= β2
                }
            }
        case let rmsprop as RMSprop:
            rmspropAdjoint(rmsprop, g: g, stateAfter: stateAfter, d̄: d̄, s̄: &s̄, ḡ: ḡ)
        default:
            preconditionFailure("L3RS second-order meta-gradient: no adjoint for base rule \(rule.name)")
        }
    }

    /// m' = β m + g; heavy ball d = m', Nesterov d = g + β m'.
    private static func momentumAdjoint(
        _ rule: Momentum, d̄: UnsafeBufferPointer<Float>, s̄: inout OptimizerState,
        ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        let β = rule.beta
        let nesterov = rule.nesterov
        s̄.firstMoment.withUnsafeMutableBufferPointer { m̄ in
            for i in 0..<d̄.count {
                let total = m̄[i] + (nesterov ? β * d̄[i] : d̄[i])
                ḡ[i] += total + (nesterov ? d̄[i] : 0)
                m̄[i] = β * total
            }
        }
    }

    /// m' = β1 m + (1−β1) g, v' = β2 v + (1−β2) g², d = m' c1⁻¹ / (√v' c2^−½ + ε).
    private static func adamAdjoint(
        _ rule: Adam, g: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, d̄: UnsafeBufferPointer<Float>,
        s̄: inout OptimizerState, ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        // The same per-step corrections as Adam.direction, whose step counter was t − 1 when it ran.
        let t = Double(stateAfter.step)
        let firstCorrection = Float(1 / (1 - pow(Double(rule.beta1), t)))
        let secondCorrectionRoot = Float(1 / (1 - pow(Double(rule.beta2), t)).squareRoot())
        let (β1, β2, ε) = (rule.beta1, rule.beta2, rule.epsilon)
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

    /// v' = α v + (1−α) g², d = g / (√v' + ε).
    private static func rmspropAdjoint(
        _ rule: RMSprop, g: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, d̄: UnsafeBufferPointer<Float>,
        s̄: inout OptimizerState, ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        let (α, ε) = (rule.alpha, rule.epsilon)
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
