import Foundation

/// Adam on the meta-parameters φ with global-norm gradient clipping (docs/method.md §5: lr 1e-3, clip at 1.0).
///
/// Clipping bounds the damage of a single exploding truncation; a non-finite meta-gradient skips the step
/// entirely (and is reported), because one NaN in Adam's moments would never wash out.
public struct MetaOptimizer: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Meta-gradients with a larger global norm are scaled down to it.
    public var maxGradientNorm: Double
    /// Adam's moments and step counter (steps taken, skipped ones not counted).
    public var firstMoment: [Float]
    public var secondMoment: [Float]
    public var step: Int
    /// Steps skipped for non-finite meta-gradients.
    public var skippedSteps: Int

    public init(
        parameterCount: Int,
        learningRate: Float = 1e-3,
        beta1: Float = 0.9,
        beta2: Float = 0.999,
        epsilon: Float = 1e-8,
        maxGradientNorm: Double = 1
    ) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.maxGradientNorm = maxGradientNorm
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = firstMoment
        step = 0
        skippedSteps = 0
    }

    /// One Adam step on φ with the (allreduced) meta-gradient.
    public mutating func update(_ metaParameters: inout MetaParameters, gradient: [Float]) -> MetaUpdateOutcome {
        precondition(gradient.count == metaParameters.values.count && gradient.count == firstMoment.count,
                     "MetaOptimizer: gradient, φ and state sizes differ")
        guard MetaGradientCheck.isFinite(gradient) else {
            skippedSteps += 1
            return .skippedNonFinite
        }
        let norm = MetaGradientCheck.globalNorm(gradient)
        let scale = norm > maxGradientNorm ? maxGradientNorm / norm : 1
        step += 1
        let t = Double(step)
        let firstCorrection = Float(1 / (1 - pow(Double(beta1), t)))
        let secondCorrectionRoot = Float(1 / (1 - pow(Double(beta2), t)).squareRoot())
        let clip = Float(scale)
        for i in 0..<gradient.count {
            let g = gradient[i] * clip
            firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * g
            secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g * g
            metaParameters.values[i] -= learningRate * (firstMoment[i] * firstCorrection)
                / (secondMoment[i].squareRoot() * secondCorrectionRoot + epsilon)
        }
        return .applied(gradientNorm: norm, clipScale: scale)
    }
}
