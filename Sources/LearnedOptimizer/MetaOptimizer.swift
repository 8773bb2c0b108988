import Optimizers

/// Adam on the meta-parameters φ with global-norm gradient clipping (docs/method.md §5: lr 1e-3, clip at 1.0),
/// built from the Optimizers module's pieces: `Adam` (hyperparameters and bias corrections), `OptimizerState`
/// (m, v, t) and `GradientClipping` (norm and scale, in its `.exact` form).
///
/// The element loop is its own, applying lr inside the quotient, lr·m̂/(√v̂ + ε), where `Adam.advance` (a C
/// kernel) forms the direction first and rounds (1 − β2)·g² as (1 − β2)·(g·g): routing φ through it would
/// change fixed-seed meta-training in the last bits.
///
/// Clipping bounds the damage of a single exploding truncation; a non-finite meta-gradient skips the step
/// entirely (and is reported), because one NaN in Adam's moments would never wash out.
public struct MetaOptimizer: Sendable, Equatable {
    public var learningRate: Float
    /// β1, β2, ε.
    public var adam: Adam
    /// Meta-gradients with a larger global norm are scaled down to it.
    public var maxGradientNorm: Double
    /// Adam's moments and step counter (steps taken, skipped ones not counted).
    public var state: OptimizerState
    /// Steps skipped for non-finite meta-gradients.
    public var skippedSteps: Int

    public var beta1: Float { adam.beta1 }
    public var beta2: Float { adam.beta2 }
    public var epsilon: Float { adam.epsilon }
    /// m (checkpointed).
    public var firstMoment: [Float] {
        get { state.firstMoment }
        set { state.firstMoment = newValue }
    }
    /// v (checkpointed).
    public var secondMoment: [Float] {
        get { state.secondMoment }
        set { state.secondMoment = newValue }
    }
    /// t, meta-steps taken (checkpointed).
    public var step: Int {
        get { state.step }
        set { state.step = newValue }
    }

    public init(
        parameterCount: Int,
        learningRate: Float = 1e-3,
        beta1: Float = 0.9,
        beta2: Float = 0.999,
        epsilon: Float = 1e-8,
        maxGradientNorm: Double = 1
    ) {
        self.learningRate = learningRate
        adam = Adam(beta1: beta1, beta2: beta2, epsilon: epsilon)
        self.maxGradientNorm = maxGradientNorm
        state = adam.makeState(count: parameterCount)
        skippedSteps = 0
    }

    /// One Adam step on φ with the (allreduced) meta-gradient.
    public mutating func update(_ metaParameters: inout MetaParameters, gradient: [Float]) -> MetaUpdateOutcome {
        precondition(gradient.count == metaParameters.values.count && gradient.count == state.firstMoment.count,
                     "MetaOptimizer: gradient, φ and state sizes differ")
        guard MetaGradientCheck.isFinite(gradient) else {
            skippedSteps += 1
            return .skippedNonFinite
        }
        let norm = MetaGradientCheck.globalNorm(gradient)
        let scale = GradientClipping.scale(forNorm: norm, maxNorm: maxGradientNorm, form: .exact)
        state.step += 1
        let (firstCorrection, secondCorrectionRoot) = adam.biasCorrections(step: state.step)
        let (beta1, beta2, epsilon, learningRate) = (adam.beta1, adam.beta2, adam.epsilon, self.learningRate)
        let clip = Float(scale)
        for i in 0..<gradient.count {
            let g = gradient[i] * clip
            state.firstMoment[i] = beta1 * state.firstMoment[i] + (1 - beta1) * g
            state.secondMoment[i] = beta2 * state.secondMoment[i] + (1 - beta2) * g * g
            metaParameters.values[i] -= learningRate * (state.firstMoment[i] * firstCorrection)
                / (state.secondMoment[i].squareRoot() * secondCorrectionRoot + epsilon)
        }
        return .applied(gradientNorm: norm, clipScale: scale)
    }
}
