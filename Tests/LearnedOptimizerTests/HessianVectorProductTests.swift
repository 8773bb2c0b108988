import XCTest
@testable import LearnedOptimizer

/// The central-difference HVP helper against the tiny problem's exact Hessian-vector product.
/// Tolerance: 1e-2·‖Hv‖ per element (Float gradients differenced over ε ≈ 1e-3·(1 + ‖θ‖)/‖v‖).
final class HessianVectorProductTests: XCTestCase {
    func testCentralDifferenceMatchesExactProduct() {
        let problem = TinyRegressionProblem()
        let θ = TinyRegressionProblem.initialParameters()
        var generator = TestGenerator(seed: 4)
        let v = (0..<θ.count).map { _ in Float(generator.uniform(1)) }
        var exact = [Float](repeating: 0, count: θ.count)
        var approximate = exact
        θ.withUnsafeBufferPointer { p in
            v.withUnsafeBufferPointer { vector in
                exact.withUnsafeMutableBufferPointer {
                    problem.trainingHessianVectorProduct(parameters: p, vector: vector, step: 2, into: $0)
                }
                approximate.withUnsafeMutableBufferPointer { out in
                    CentralDifferenceHessianVectorProduct.compute(parameters: p, vector: vector, into: out) {
                        problem.trainingLossAndGradient(parameters: $0, step: 2, gradient: $1)
                    }
                }
            }
        }
        let norm = exact.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertGreaterThan(norm, 0.1)
        for i in 0..<θ.count {
            XCTAssertEqual(Double(approximate[i]), Double(exact[i]), accuracy: 1e-2 * norm, "element \(i)")
        }
    }

    func testZeroVectorGivesZero() {
        let problem = TinyRegressionProblem()
        let θ = TinyRegressionProblem.initialParameters()
        let v = [Float](repeating: 0, count: θ.count)
        var product = [Float](repeating: 1, count: θ.count)
        θ.withUnsafeBufferPointer { p in
            v.withUnsafeBufferPointer { vector in
                product.withUnsafeMutableBufferPointer { out in
                    CentralDifferenceHessianVectorProduct.compute(parameters: p, vector: vector, into: out) {
                        problem.trainingLossAndGradient(parameters: $0, step: 0, gradient: $1)
                    }
                }
            }
        }
        XCTAssertEqual(product, v)
    }
}
