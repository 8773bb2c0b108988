import XCTest
@testable import LearnedOptimizer

/// The meta-objective's options (loss weighting of a truncation's steps, the step-size penalty) against
/// central finite differences, and the sign of the step-size meta-gradient on a deliberately mis-set λ0.
///
/// Tolerance as in `MetaGradientTests`: |analytic − FD| ≤ 1e-3·|FD| + 1e-4·max|FD|, FD step 1e-2 on φ.
final class MetaObjectiveTests: XCTestCase {
    let problem = TinyRegressionProblem()
    let truncation = 4

    func testWeightsSumToOneAndHaveTheirShape() {
        for weighting in MetaLossWeighting.allCases {
            for count in 1...7 {
                let weights = weighting.weights(count: count)
                XCTAssertEqual(weights.count, count)
                XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-12, "\(weighting) \(count)")
                XCTAssertTrue(weights.allSatisfy { $0 >= 0 })
            }
        }
        XCTAssertEqual(MetaLossWeighting.linear.weights(count: 3), [1.0 / 6, 2.0 / 6, 3.0 / 6])
        XCTAssertEqual(MetaLossWeighting.final.weights(count: 3), [0, 0, 1])
        XCTAssertEqual(MetaObjective.standard, MetaObjective(weighting: .uniform, stepSizePenalty: 0))
    }

    private func check(order: MetaGradientOrder, objective: MetaObjective, warmUp: Int = 2) {
        let optimizer = MetaGradientFixtures.optimizer()
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: warmUp)
        var analytic = optimizer
        var θ = θ0
        var state = state0
        let result = analytic.metaGradient(problem: problem, parameters: &θ, state: &state,
                                           truncationLength: truncation, order: order, objective: objective)
        XCTAssertTrue(result.isFinite)
        let reference: any InnerProblem = order == .secondOrder
            ? problem
            : ReplayedProblem(base: problem, optimizer: optimizer, parameters: θ0, state: state0, steps: truncation)
        func total<P: InnerProblem>(_ p: P) -> Double {
            MetaGradientFixtures.metaLoss(optimizer: optimizer, problem: p, parameters: θ0, state: state0,
                                          steps: truncation, objective: objective)
        }
        XCTAssertEqual(result.metaLoss + result.stepSizePenalty, total(problem), accuracy: 1e-9)
        let indices = MetaGradientFixtures.checkedCoordinates(optimizer.metaParameters.layout)
        func difference<P: InnerProblem>(_ p: P, _ index: Int) -> Double {
            MetaGradientFixtures.finiteDifference(optimizer: optimizer, problem: p, parameters: θ0, state: state0,
                                                  steps: truncation, index: index, step: 1e-2, objective: objective)
        }
        let differences = indices.map { index -> Double in
            if let replayed = reference as? ReplayedProblem { return difference(replayed, index) }
            return difference(problem, index)
        }
        let scale = differences.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 1e-4)
        for (index, fd) in zip(indices, differences) {
            let value = Double(result.gradient[index])
            XCTAssertLessThanOrEqual(abs(value - fd), 1e-3 * abs(fd) + 1e-4 * scale,
                                     "\(order) \(objective) φ[\(index)]: analytic \(value), finite difference \(fd)")
        }
    }

    func testLinearWeightingSecondOrderMatchesFiniteDifferences() {
        check(order: .secondOrder, objective: MetaObjective(weighting: .linear))
    }

    func testFinalWeightingFirstOrderMatchesFiniteDifferencesOfReplayedUnroll() {
        check(order: .firstOrder, objective: MetaObjective(weighting: .final))
    }

    func testStepSizePenaltyMatchesFiniteDifferencesInBothOrders() {
        check(order: .secondOrder, objective: MetaObjective(weighting: .uniform, stepSizePenalty: 0.05))
        check(order: .firstOrder, objective: MetaObjective(weighting: .final, stepSizePenalty: 0.05), warmUp: 0)
    }

    /// Sanity of sign and scale: from the initial φ (o_λ = 0, so λ = λ0), a λ0 far too small for the tiny
    /// problem must give a negative meta-gradient on o_λ's output bias (grow λ), and a λ0 far too large a
    /// positive one (shrink λ), whichever weighting; a few meta-steps then move λ the right way.
    func testMisSetBaseLearningRateIsCorrectedInTheRightDirection() {
        for (λ0, shouldGrow) in [(Float(1e-4), true), (Float(3), false)] {
            for weighting in MetaLossWeighting.allCases {
                let configuration = L3RSConfiguration(baseLearningRate: λ0, seed: 1)
                var optimizer = try! L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                                   parameterCount: TinyRegressionProblem.parameterCount)
                let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
                let biasIndex = optimizer.metaParameters.layout.outputBiasOffset
                var metaOptimizer = MetaOptimizer(parameterCount: optimizer.metaParameters.values.count,
                                                  learningRate: 1e-2)
                for metaStep in 0..<5 {
                    var θ = θ0
                    var state = state0
                    let result = optimizer.metaGradient(problem: problem, parameters: &θ, state: &state,
                                                        truncationLength: 5, order: .firstOrder,
                                                        objective: MetaObjective(weighting: weighting))
                    if metaStep == 0 {
                        let gradient = result.gradient[biasIndex]
                        XCTAssertTrue(shouldGrow ? gradient < 0 : gradient > 0,
                                      "λ0 \(λ0) \(weighting): ∂L/∂b_λ = \(gradient)")
                    }
                    _ = metaOptimizer.update(&optimizer.metaParameters, gradient: result.gradient)
                }
                let bias = optimizer.metaParameters.values[biasIndex]
                XCTAssertTrue(shouldGrow ? bias > 0 : bias < 0, "λ0 \(λ0) \(weighting): b_λ = \(bias)")
            }
        }
    }
}
