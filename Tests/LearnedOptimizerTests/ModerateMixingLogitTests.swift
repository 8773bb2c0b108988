import Optimizers
import XCTest
@testable import LearnedOptimizer

/// A moderate initial mixing logit c (jobs/configs/meta-train-fmnist.yaml uses 4) trades the exact
/// "normalised Adam at init" of the default c = 20 for a mixing meta-gradient meta-training can use.
///
/// What equality holds at init with c: λ = λ0 exactly, and Δθ_l = λ0 Σ_p μ_p d̂_l,p with μ_adam = e^c/(e^c + P − 1)
/// and every other μ_p = 1/(e^c + P − 1), to 1e-6 per element. Why not c = 20: the softmax Jacobian scales
/// the mixing logits' meta-gradient by μ(1 − μ) ≈ 2e-9 there, so μ cannot leave Adam in any practical
/// number of meta-steps; at c = 4 it is ≈ 0.03.
final class ModerateMixingLogitTests: XCTestCase {
    let problem = TinyRegressionProblem()

    func testInitialUpdateIsTheStatedMixOfNormalisedDirections() {
        let c: Float = 4
        let λ0: Float = 0.1
        let bases: [OptimizerKind] = [.sgd, .momentum, .adam]
        let configuration = L3RSConfiguration(baseOptimizers: bases, baseLearningRate: λ0, initialPreferredLogit: c)
        var optimizer = try! L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                           parameterCount: TinyRegressionProblem.parameterCount)
        var state = optimizer.makeState()
        let rules = bases.map { $0.makeRule() }
        var ruleStates = rules.map { $0.makeState(count: TinyRegressionProblem.parameterCount) }
        let denominator = exp(Double(c)) + Double(bases.count - 1)
        let μ = [1 / denominator, 1 / denominator, exp(Double(c)) / denominator]
        var θ = TinyRegressionProblem.initialParameters()
        var g = [Float](repeating: 0, count: θ.count)
        for step in 0..<5 {
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: step, gradient: $0) }
            }
            let before = θ
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
            XCTAssertEqual(optimizer.lastStepSizes, [Float](repeating: λ0, count: TinyRegressionProblem.layers.count))
            var expected = [Double](repeating: 0, count: θ.count)
            for p in bases.indices {
                let direction = rules[p].direction(gradient: g, state: &ruleStates[p])
                for layer in TinyRegressionProblem.layers {
                    let slice = direction[layer.range].map(Double.init)
                    let rms = (slice.reduce(0) { $0 + $1 * $1 } / Double(layer.count)).squareRoot()
                    for i in layer.range {
                        expected[i] += Double(λ0) * μ[p] * Double(direction[i]) / (rms + 1e-12)
                    }
                }
            }
            for i in θ.indices {
                XCTAssertEqual(Double(before[i] - θ[i]), expected[i], accuracy: 1e-6, "step \(step) element \(i)")
            }
        }
    }

    /// The meta-gradient on the adam mixing logit's output bias is about μ(1 − μ) times the unsaturated one:
    /// at c = 4 it is more than 10⁵ times that at c = 20.
    func testMixingMetaGradientIsReachableOnlyAwayFromSaturation() {
        func mixingGradient(_ c: Float) -> Double {
            let configuration = L3RSConfiguration(baseLearningRate: 0.05, initialPreferredLogit: c, seed: 1)
            var optimizer = try! L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                               parameterCount: TinyRegressionProblem.parameterCount)
            var (θ, state) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
            let result = optimizer.metaGradient(problem: problem, parameters: &θ, state: &state,
                                                truncationLength: 4, order: .firstOrder)
            return abs(Double(result.gradient[optimizer.metaParameters.layout.outputBiasOffset + 3]))
        }
        let moderate = mixingGradient(4)
        let saturated = mixingGradient(20)
        XCTAssertGreaterThan(moderate, 1e-6)
        XCTAssertGreaterThan(moderate, 1e5 * saturated, "c = 4: \(moderate), c = 20: \(saturated)")
    }
}
