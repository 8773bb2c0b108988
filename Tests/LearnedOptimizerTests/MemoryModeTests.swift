import XCTest
@testable import LearnedOptimizer

/// Storing every step's intermediates and recomputing them from segment snapshots must give bit-identical
/// meta-gradients, losses and end states.
final class MemoryModeTests: XCTestCase {
    func testStoreAndRecomputeAreIdentical() {
        let problem = TinyRegressionProblem()
        let optimizer = MetaGradientFixtures.optimizer()
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
        let truncation = 5
        for order in MetaGradientOrder.allCases {
            var stored = optimizer
            var θStored = θ0
            var stateStored = state0
            let reference = stored.metaGradient(problem: problem, parameters: &θStored, state: &stateStored,
                                                truncationLength: truncation, order: order, memory: .storeAll)
            for segmentLength in [1, 2, 3, 5, 8] {
                var recomputed = optimizer
                var θ = θ0
                var state = state0
                let result = recomputed.metaGradient(
                    problem: problem, parameters: &θ, state: &state, truncationLength: truncation, order: order,
                    memory: .recompute(segmentLength: segmentLength))
                XCTAssertEqual(result.gradient, reference.gradient, "\(order), segment length \(segmentLength)")
                XCTAssertEqual(result.validationLosses, reference.validationLosses)
                XCTAssertEqual(result.metaLoss, reference.metaLoss)
                XCTAssertEqual(θ, θStored)
                XCTAssertEqual(state, stateStored)
                XCTAssertEqual(recomputed.lastStepSizes, stored.lastStepSizes)
                XCTAssertEqual(recomputed.lastMixingWeights, stored.lastMixingWeights)
            }
        }
    }

    /// The truncation leaves θ and the state exactly where T plain steps would.
    func testMetaGradientAdvancesLikePlainSteps() {
        let problem = TinyRegressionProblem()
        let optimizer = MetaGradientFixtures.optimizer()
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 1)
        var traced = optimizer
        var θTraced = θ0
        var stateTraced = state0
        _ = traced.metaGradient(problem: problem, parameters: &θTraced, state: &stateTraced, truncationLength: 3,
                                order: .secondOrder)
        let (θPlain, statePlain) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 4)
        XCTAssertEqual(θTraced, θPlain)
        XCTAssertEqual(stateTraced, statePlain)
    }
}
