import XCTest
@testable import Network

final class LossTests: XCTestCase {
    func testKnownValues() {
        let loss = SoftmaxCrossEntropy()
        XCTAssertEqual(loss.loss(logits: Tensor(shape: [1, 2], values: [0, 0]), labels: [0]), Float(log(2.0)), accuracy: 1e-6)
        // Uniform logits over 10 classes: ln 10, gradient (1/10 − onehot) / N.
        let uniform = Tensor(shape: [2, 10], values: [Float](repeating: 3, count: 20))
        XCTAssertEqual(loss.loss(logits: uniform, labels: [4, 9]), Float(log(10.0)), accuracy: 1e-5)
        let gradient = loss.gradient()
        XCTAssertEqual(gradient[4], (0.1 - 1) / 2, accuracy: 1e-6)
        XCTAssertEqual(gradient[0], 0.1 / 2, accuracy: 1e-6)
    }

    func testNumericallyStableForLargeLogits() {
        let loss = SoftmaxCrossEntropy()
        let value = loss.loss(logits: Tensor(shape: [2, 2], values: [1000, 0, -1000, 1000]), labels: [1, 1])
        XCTAssertEqual(value, 500, accuracy: 1e-3)
        XCTAssertTrue(loss.gradient().values.allSatisfy(\.isFinite))
    }

    /// ∂loss/∂logits by central differences (ε 1e-2, relative tolerance 2e-2, like the layers).
    func testGradientMatchesFiniteDifferences() {
        let loss = SoftmaxCrossEntropy()
        let logits = TestData.uniform(shape: [3, 5], in: -2, 2, seed: 1)
        let labels = [0, 4, 2]
        var analytic: [Float] = []
        let results = GradientCheck.run(
            targets: [GradientTarget(label: "logits", values: logits.storage, analytic: { analytic })],
            evaluate: { Double(loss.loss(logits: logits, labels: labels)) },
            computeAnalytic: {
                _ = loss.loss(logits: logits, labels: labels)
                analytic = loss.gradient().values
            },
            epsilon: 1e-2)
        assertGradientsMatch(results, tolerance: 2e-2)
        XCTAssertEqual(Double(loss.loss(logits: logits, labels: labels)),
                       GradientCheck.doublePrecisionCrossEntropy(logits, labels: labels), accuracy: 1e-6)
    }

    func testAccuracy() {
        let logits = Tensor(shape: [4, 3], values: [1, 2, 0, 5, 1, 1, 0, 0, 9, 2, 2, 1])
        XCTAssertEqual(accuracy(logits: logits, labels: [1, 0, 2, 1]), 0.75)  // last row ties → index 0
        XCTAssertEqual(accuracy(logits: Tensor(shape: [0, 3]), labels: []), 0)
    }
}
