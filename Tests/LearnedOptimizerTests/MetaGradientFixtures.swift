@testable import LearnedOptimizer
import Optimizers

/// Shared set-ups for the meta-gradient tests on `TinyRegressionProblem`.
enum MetaGradientFixtures {
    /// An optimizer away from its saturated initialisation: a genuine mixture (preferred logit 1), and
    /// random output weights so every part of the MLP receives gradient.
    static func optimizer(
        variant: L3RSVariant = .layerEmbedding,
        bases: [OptimizerKind] = [.sgd, .momentum, .adam],
        baseLearningRate: Float = 0.1,
        learnedOutputs: L3RSLearnedOutputs = .stepSizeAndMixing,
        horizonFeatures: Bool = false,
        featureSet: L3RSFeatureSet = .v1,
        directionScale: L3RSDirectionScale = .unit,
        baseSchedule: ScheduleKind = .constant
    ) -> L3RSOptimizer {
        let configuration = L3RSConfiguration(
            baseOptimizers: bases, baseLearningRate: baseLearningRate, variant: variant,
            initialPreferredLogit: 1, embeddingInitialScale: 0.3, seed: 11, learnedOutputs: learnedOutputs,
            horizonFeatures: horizonFeatures, featureSet: featureSet, directionScale: directionScale,
            baseSchedule: baseSchedule, baseWarmupFraction: 0.25)
        var optimizer = try! L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                           parameterCount: TinyRegressionProblem.parameterCount)
        randomizeOutputWeights(of: &optimizer, halfWidth: 0.3)
        return optimizer
    }

    /// Replaces the MLP's output weights (zero at initialisation) with uniform draws in ±`halfWidth` (seed 5),
    /// so that every part of φ receives gradient.
    static func randomizeOutputWeights(of optimizer: inout L3RSOptimizer, halfWidth: Double) {
        var generator = TestGenerator(seed: 5)
        let layout = optimizer.metaParameters.layout
        for i in layout.outputWeightOffset..<layout.outputBiasOffset {
            optimizer.metaParameters.values[i] = Float(generator.uniform(halfWidth))
        }
    }

    /// The start of a truncation after `warmUp` steps of the optimizer itself (so EMAs, ξ_0 and base states
    /// are non-trivial).
    static func start(optimizer: L3RSOptimizer, problem: TinyRegressionProblem, warmUp: Int) -> ([Float], L3RSState) {
        var optimizer = optimizer
        var θ = TinyRegressionProblem.initialParameters()
        var state = optimizer.makeState()
        state.horizon = 12
        train(&optimizer, problem: problem, parameters: &θ, state: &state, steps: warmUp)
        return (θ, state)
    }

    /// `steps` steps of `optimizer` on `problem`'s training loss from (θ, state); `optimizer` keeps the last
    /// step's activations.
    static func train(_ optimizer: inout L3RSOptimizer, problem: TinyRegressionProblem, parameters θ: inout [Float],
                      state: inout L3RSState, steps: Int) {
        var g = [Float](repeating: 0, count: θ.count)
        for _ in 0..<steps {
            let k = state.step
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
        }
    }

    /// L_meta of a T-step unroll from (θ, state) under `objective` (validation part plus step-size penalty),
    /// by forward evaluation only.
    static func metaLoss<Problem: InnerProblem>(
        optimizer: L3RSOptimizer, problem: Problem, parameters: [Float], state: L3RSState, steps: Int,
        objective: MetaObjective = .standard
    ) -> Double {
        let weights = objective.weighting.weights(count: steps)
        var penalty = 0.0
        var optimizer = optimizer
        var θ = parameters
        var state = state
        var g = [Float](repeating: 0, count: θ.count)
        var total = 0.0
        for t in 0..<steps {
            let k = state.step
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
            let validation = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer {
                    problem.validationLossAndGradient(parameters: p, step: state.step, gradient: $0)
                }
            }
            if objective.weighting == .uniform {
                total += Double(validation)
            } else {
                total += weights[t] * Double(validation)
            }
            let outputCount = 1 + optimizer.configuration.baseCount
            for l in optimizer.layers.indices {
                let logStep = Double(optimizer.activations.outputs[l * outputCount])
                let clipped = min(max(logStep, -StepOutputs.logStepBound), StepOutputs.logStepBound)
                penalty += clipped * clipped
            }
        }
        let validationPart = objective.weighting == .uniform ? total / Double(steps) : total
        return validationPart + objective.stepSizePenalty * penalty / Double(steps * optimizer.layers.count)
    }

    /// Fourth-order central finite difference of L_meta along φ coordinate `index`:
    /// (8(L(φ + h) − L(φ − h)) − (L(φ + 2h) − L(φ − 2h))) / 12h, error O(h⁴).
    ///
    /// Why not the two-point (L(φ + h) − L(φ − h)) / 2h: the inner steps run in Float, so L carries rounding
    /// noise of ~1e-7 that the difference divides by h. At h = 1e-2 that noise (±1e-5, measured along one
    /// coordinate at h = 2.5e-3 … 8e-2) exceeds the meta-gradient checks' tolerance on coordinates whose
    /// gradient is ~0; the fourth-order stencil keeps its truncation error small at a step four times larger,
    /// where the noise is a third of that.
    static func finiteDifference<Problem: InnerProblem>(
        optimizer: L3RSOptimizer, problem: Problem, parameters: [Float], state: L3RSState, steps: Int,
        index: Int, step h: Float, objective: MetaObjective = .standard
    ) -> Double {
        func loss(at offset: Float) -> (value: Double, coordinate: Double) {
            var shifted = optimizer
            shifted.metaParameters.values[index] += offset
            let value = metaLoss(optimizer: shifted, problem: problem, parameters: parameters, state: state, steps: steps,
                                 objective: objective)
            return (value, Double(shifted.metaParameters.values[index]))
        }
        let (plus, minus) = (loss(at: h), loss(at: -h))
        let (plus2, minus2) = (loss(at: 2 * h), loss(at: -2 * h))
        // The step actually taken in Float, h ≈ (φ+h − φ−h) / 2; the stencil assumes 2h = 2·that.
        let actualStep = (plus.coordinate - minus.coordinate) / 2
        return (8 * (plus.value - minus.value) - (plus2.value - minus2.value)) / (12 * actualStep)
    }

    /// A spread of φ coordinates touching every tensor: all output biases, some output weights, hidden
    /// weights and biases, embeddings.
    static func checkedCoordinates(_ layout: MetaNetworkLayout) -> [Int] {
        var indices = Array(layout.outputBiasOffset..<layout.embeddingOffset)
        indices += stride(from: layout.outputWeightOffset, to: layout.outputBiasOffset, by: 13)
        indices += stride(from: layout.secondWeightOffset, to: layout.outputWeightOffset, by: 97)
        indices += stride(from: layout.firstWeightOffset, to: layout.secondWeightOffset, by: 61)
        if layout.hasEmbedding {
            indices += stride(from: layout.embeddingOffset, to: layout.count, by: 5)
        }
        return indices
    }
}
