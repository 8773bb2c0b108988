import XCTest
@testable import LearnedOptimizer

final class ClosureInnerProblemTests: XCTestCase {
    /// With the exact HVP the closure adapter gives the same meta-gradient as the conforming type, bit for
    /// bit; with the default central-difference HVP the second-order meta-gradient agrees to 1e-2 of its
    /// largest entry (the HVP's own approximation error).
    func testClosuresMatchConformingProblem() {
        let problem = TinyRegressionProblem()
        let optimizer = MetaGradientFixtures.optimizer()
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
        func gradient<P: InnerProblem>(_ p: P) -> [Float] {
            var copy = optimizer
            var θ = θ0
            var state = state0
            return copy.metaGradient(problem: p, parameters: &θ, state: &state, truncationLength: 3,
                                     order: .secondOrder).gradient
        }
        let reference = gradient(problem)
        let exact = ClosureInnerProblem(
            training: { problem.trainingLossAndGradient(parameters: $0, step: $1, gradient: $2) },
            validation: { problem.validationLossAndGradient(parameters: $0, step: $1, gradient: $2) },
            hessianVectorProduct: {
                problem.trainingHessianVectorProduct(parameters: $0, vector: $1, step: $2, into: $3)
            })
        XCTAssertEqual(gradient(exact), reference)
        let approximate = ClosureInnerProblem(
            training: { problem.trainingLossAndGradient(parameters: $0, step: $1, gradient: $2) },
            validation: { problem.validationLossAndGradient(parameters: $0, step: $1, gradient: $2) })
        let scale = reference.map { abs($0) }.max()!
        for (a, b) in zip(gradient(approximate), reference) {
            XCTAssertEqual(a, b, accuracy: 1e-2 * scale)
        }
    }
}
