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
        learnedOutputs: L3RSLearnedOutputs = .stepSizeAndMixing
    ) -> L3RSOptimizer {
        let configuration = L3RSConfiguration(
            baseOptimizers: bases, baseLearningRate: baseLearningRate, variant: variant,
            initialPreferredLogit: 1, embeddingInitialScale: 0.3, seed: 11, learnedOutputs: learnedOutputs)
        var optimizer = try! L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                           parameterCount: TinyRegressionProblem.parameterCount)
        var generator = TestGenerator(seed: 5)
        let layout = optimizer.metaParameters.layout
        for i in layout.outputWeightOffset..<layout.outputBiasOffset {
            optimizer.metaParameters.values[i] = Float(generator.uniform(0.3))
        }
        return optimizer
    }

    /// The start of a truncation after `warmUp` steps of the optimizer itself (so EMAs, ξ_0 and base states
    /// are non-trivial).
    static func start(optimizer: L3RSOptimizer, problem: TinyRegressionProblem, warmUp: Int) -> ([Float], L3RSState) {
        var optimizer = optimizer
        var θ = TinyRegressionProblem.initialParameters()
        var state = optimizer.makeState()
        var g = [Float](repeating: 0, count: θ.count)
        for _ in 0..<warmUp {
            let k = state.step
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
        }
        return (θ, state)
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

    /// Central finite difference of L_meta along φ coordinate `index`.
    static func finiteDifference<Problem: InnerProblem>(
        optimizer: L3RSOptimizer, problem: Problem, parameters: [Float], state: L3RSState, steps: Int,
        index: Int, step h: Float, objective: MetaObjective = .standard
    ) -> Double {
        var plus = optimizer
        plus.metaParameters.values[index] += h
        var minus = optimizer
        minus.metaParameters.values[index] -= h
        let actualStep = Double(plus.metaParameters.values[index]) - Double(minus.metaParameters.values[index])
        return (metaLoss(optimizer: plus, problem: problem, parameters: parameters, state: state, steps: steps,
                         objective: objective)
            - metaLoss(optimizer: minus, problem: problem, parameters: parameters, state: state, steps: steps,
                       objective: objective))
            / actualStep
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
