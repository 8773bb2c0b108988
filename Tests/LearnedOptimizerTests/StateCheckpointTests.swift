import XCTest
@testable import LearnedOptimizer

final class StateCheckpointTests: XCTestCase {
    /// Checkpoint after 3 steps, restore, run 3 more: identical to 6 uninterrupted steps.
    func testResumeFromCheckpointIsExact() throws {
        let problem = TinyRegressionProblem()
        let optimizer = MetaGradientFixtures.optimizer(bases: [.sgd, .momentum, .adam, .lion, .rmsprop])
        let (θ3, state3) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 3)
        let restored = try L3RSState(checkpointTensors: state3.checkpointTensors,
                                     metadata: state3.checkpointMetadata, template: optimizer.makeState())
        XCTAssertEqual(restored, state3)

        var resumed = optimizer
        var θ = θ3
        var state = restored
        MetaGradientFixtures.train(&resumed, problem: problem, parameters: &θ, state: &state, steps: 3)
        let (θ6, state6) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 6)
        XCTAssertEqual(θ, θ6)
        XCTAssertEqual(state, state6)
    }

    func testIncompatibleCheckpointIsRejected() {
        let optimizer = MetaGradientFixtures.optimizer()
        let state = optimizer.makeState()
        let other = MetaGradientFixtures.optimizer(bases: [.sgd, .adam])
        XCTAssertThrowsError(try L3RSState(checkpointTensors: state.checkpointTensors,
                                           metadata: state.checkpointMetadata, template: other.makeState()))
        XCTAssertThrowsError(try L3RSState(checkpointTensors: Array(state.checkpointTensors.dropLast()),
                                           metadata: state.checkpointMetadata, template: optimizer.makeState()))
    }
}
