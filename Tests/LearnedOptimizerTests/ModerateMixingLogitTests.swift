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

    func testInitialUpdateIsTheStatedMixOfNormalisedDirections() throws {
        try checkInitialMix(directionScale: .unit)
    }

    /// Under `directionScale: adam` the same mix, with every direction at the RMS of the layer's Adam
    /// direction: Δθ_l = λ0 Σ_p μ_p d_l,p · rms(d_l,adam) / rms(d_l,p).
    func testInitialUpdateUnderAdamDirectionScaleIsTheStatedMixAtAdamsLength() throws {
        try checkInitialMix(directionScale: .adam)
    }

    private func checkInitialMix(directionScale: L3RSDirectionScale) throws {
        let c: Float = 4
        let λ0: Float = 0.1
        let bases: [OptimizerKind] = [.sgd, .momentum, .adam]
        let configuration = L3RSConfiguration(baseOptimizers: bases, baseLearningRate: λ0, initialPreferredLogit: c,
                                              directionScale: directionScale)
        let denominator = exp(Double(c)) + Double(bases.count - 1)
        let μ = [1 / denominator, 1 / denominator, exp(Double(c)) / denominator]
        try StepsBesideBaseRules.run(configuration, steps: 5) { step, update, directions, optimizer in
            XCTAssertEqual(optimizer.lastStepSizes, [Float](repeating: λ0, count: TinyRegressionProblem.layers.count))
            var expected = [Double](repeating: 0, count: update.count)
            for layer in TinyRegressionProblem.layers {
                let length = directionScale == .adam ? StepsBesideBaseRules.rms(directions[2], layer.range) : 1
                for p in bases.indices {
                    let rms = StepsBesideBaseRules.rms(directions[p], layer.range)
                    for i in layer.range {
                        expected[i] += Double(λ0) * μ[p] * Double(directions[p][i]) * length / (rms + 1e-12)
                    }
                }
            }
            for i in update.indices {
                XCTAssertEqual(Double(update[i]), expected[i], accuracy: 1e-6, "\(directionScale) step \(step) element \(i)")
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
