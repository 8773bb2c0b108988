import Kernels

/// Turning directions into parameter updates, per group: the part of a hand-designed optimizer that is not a
/// state transition.
///
/// Both passes run on `WorkerPool.shared` in element chunks (`WorkerPool.elementwise`): the same bits as a serial
/// loop at any thread count.
///
/// Split from `DirectionRule` so that L3RS can reuse the directions with its own step sizes, while the
/// baseline trainer composes `addCoupledWeightDecay` → `DirectionRule.direction` → `apply`.
public enum ParameterUpdate {
    /// Coupled L2 weight decay (PyTorch's `weight_decay` for SGD, momentum, Adam, RMSprop):
    /// `effectiveGradient = s·gradient + wd·θ` in groups that apply weight decay, `= s·gradient` elsewhere,
    /// where s is `gradientScale` (the clipping factor, so clipping costs no extra pass; 1 for none).
    /// Pass `weightDecay: 0` for decoupled rules to get the scaled copy alone.
    /// `effectiveGradient` may alias `gradient`.
    public static func addCoupledWeightDecay(
        gradient: UnsafeBufferPointer<Float>,
        gradientScale: Float = 1,
        parameters: UnsafeBufferPointer<Float>,
        groups: [ParameterGroup],
        weightDecay: Float,
        into effectiveGradient: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(gradient.count == parameters.count && effectiveGradient.count == parameters.count,
                     "addCoupledWeightDecay: gradient, parameters and output counts differ")
        guard !parameters.isEmpty else { return }
        let (g, θ, effective) = (gradient.baseAddress!, parameters.baseAddress!, effectiveGradient.baseAddress!)
        for group in groups {
            let decay: Float = group.appliesWeightDecay ? weightDecay : 0
            let start = group.range.lowerBound
            WorkerPool.elementwise(count: group.range.count) { part in
                for i in (start + part.lowerBound)..<(start + part.upperBound) {
                    effective[i] = gradientScale * g[i] + decay * θ[i]
                }
            }
        }
    }

    /// θ ← θ − lr_g·d, or with decoupled weight decay θ ← θ − lr_g·wd·θ − lr_g·d (AdamW, Lion),
    /// where lr_g = `learningRate` × the group's multiplier, and wd is 0 in groups without weight decay.
    ///
    /// `learningRate` is the scheduled learning rate of this step. Pass `decoupledWeightDecay: 0` for rules
    /// whose decay was coupled into the gradient already.
    public static func apply(
        direction: UnsafeBufferPointer<Float>,
        to parameters: UnsafeMutableBufferPointer<Float>,
        groups: [ParameterGroup],
        learningRate: Double,
        decoupledWeightDecay: Double
    ) {
        precondition(direction.count == parameters.count, "apply: direction and parameter counts differ")
        guard !parameters.isEmpty else { return }
        for group in groups {
            let groupRate = learningRate * group.learningRateMultiplier
            let stepSize = Float(groupRate)
            let keep = Float(1 - groupRate * (group.appliesWeightDecay ? decoupledWeightDecay : 0))
            let (θ, d, start) = (parameters.baseAddress!, direction.baseAddress!, group.range.lowerBound)
            WorkerPool.elementwise(count: group.range.count) { part in
                for i in (start + part.lowerBound)..<(start + part.upperBound) {
                    θ[i] = keep * θ[i] - stepSize * d[i]
                }
            }
        }
    }
}
