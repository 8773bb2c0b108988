import XCTest
import Optimizers

final class GradientClippingTests: XCTestCase {
    private func clip(_ values: [Float], maxNorm: Double) -> (norm: Double, clipped: [Float]) {
        var values = values
        let norm = values.withUnsafeMutableBufferPointer { GradientClipping.clipGlobalNorm($0, maxNorm: maxNorm) }
        return (norm, values)
    }

    func testNormBelowThresholdLeavesGradientUnchanged() {
        let (norm, clipped) = clip([3, 4], maxNorm: 10)
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(clipped, [3, 4])
    }

    func testNormAboveThresholdScalesToThreshold() {
        let (norm, clipped) = clip([3, -4, 0], maxNorm: 1)
        XCTAssertEqual(norm, 5, "returns the norm before clipping")
        XCTAssertEqual(clipped[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(clipped[1], -0.8, accuracy: 1e-6)
        XCTAssertEqual(clipped[2], 0)
        let clippedNorm = clipped.withUnsafeBufferPointer(GradientClipping.globalNorm)
        XCTAssertEqual(clippedNorm, 1, accuracy: 1e-6)
        XCTAssertLessThanOrEqual(clippedNorm, 1 + 1e-7)
    }

    func testScaleFollowsPyTorch() {
        XCTAssertEqual(GradientClipping.scale(forNorm: 4, maxNorm: 2), 2 / (4 + 1e-6))
        XCTAssertEqual(GradientClipping.scale(forNorm: 1, maxNorm: 2), 1)
    }

    /// The exact form scales to the threshold itself and only above it; PyTorch's also shortens a gradient
    /// just below the threshold (by the 1e-6 in its denominator).
    func testExactFormScalesOnlyAboveTheThreshold() {
        XCTAssertEqual(GradientClipping.scale(forNorm: 4, maxNorm: 2, form: .exact), 0.5)
        XCTAssertEqual(GradientClipping.scale(forNorm: 2, maxNorm: 2, form: .exact), 1)
        XCTAssertEqual(GradientClipping.scale(forNorm: 1, maxNorm: 2, form: .exact), 1)
        XCTAssertLessThan(GradientClipping.scale(forNorm: 2, maxNorm: 2), 1)
        XCTAssertEqual(GradientClipping.scale(forNorm: 4, maxNorm: 2, form: .pyTorch),
                       GradientClipping.scale(forNorm: 4, maxNorm: 2))
    }

    /// A Float accumulator stops growing at 2²⁴ when adding ones; the Double one does not.
    func testNormIsAccumulatedInDouble() {
        let count = (1 << 24) + (1 << 22)
        let ones = [Float](repeating: 1, count: count)
        let norm = ones.withUnsafeBufferPointer(GradientClipping.globalNorm)
        XCTAssertEqual(norm, Double(count).squareRoot(), accuracy: 1e-9 * Double(count).squareRoot())
    }

    /// The eight-lane accumulation and its tail agree with a plain sum for lengths around the block size.
    func testNormMatchesAPlainSumForAnyLength() {
        for count in [0, 1, 7, 8, 9, 17, 100] {
            let values = (0..<count).map { Float($0 % 5) - 1.5 }
            let expected = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(values.withUnsafeBufferPointer(GradientClipping.globalNorm), expected,
                           accuracy: 1e-12, "count \(count)")
        }
    }

    /// Entries past 1.8e19 overflow the Float groups of the fast sum; the norm of such a finite gradient is
    /// still finite and right, and clipping brings it to maxNorm.
    func testHugeFiniteEntriesHaveAFiniteNorm() {
        let values: [Float] = (0..<5000).map { Float($0 % 3 == 0 ? 2e25 : -1e20) }
        let expected = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let norm = values.withUnsafeBufferPointer(GradientClipping.globalNorm)
        XCTAssertEqual(norm / expected, 1, accuracy: 1e-12)
        let (clippedNorm, clipped) = clip(values, maxNorm: 1)
        XCTAssertEqual(clippedNorm / expected, 1, accuracy: 1e-12)
        XCTAssertEqual(clipped.withUnsafeBufferPointer(GradientClipping.globalNorm), 1, accuracy: 1e-5)
    }

    func testNonFiniteNormLeavesGradientUntouched() {
        let (norm, clipped) = clip([.nan, 1], maxNorm: 1)
        XCTAssertTrue(norm.isNaN)
        XCTAssertTrue(clipped[0].isNaN)
        XCTAssertEqual(clipped[1], 1)
        let (infiniteNorm, _) = clip([.infinity, 1], maxNorm: 1)
        XCTAssertEqual(infiniteNorm, .infinity)
    }

    func testHandDesignedOptimizerSkipsNonFiniteGradients() throws {
        var optimizer = try HandDesignedOptimizer(rule: Adam(), parameterCount: 2, learningRate: 0.1,
                                                  maxGradientNorm: 1)
        var parameters: [Float] = [1, 2]
        let report = optimizer.step(parameters: &parameters, gradient: [.nan, 1])
        XCTAssertTrue(report.skipped)
        XCTAssertEqual(parameters, [1, 2])
        XCTAssertEqual(optimizer.state, Adam().makeState(count: 2), "state does not advance on a skipped step")
    }

    func testHandDesignedOptimizerClipsACopyNotTheCallersGradient() throws {
        var optimizer = try HandDesignedOptimizer(rule: SGD(), parameterCount: 2, learningRate: 1, maxGradientNorm: 1)
        var parameters: [Float] = [0, 0]
        let gradient: [Float] = [3, 4]
        let report = optimizer.step(parameters: &parameters, gradient: gradient)
        XCTAssertEqual(report.gradientNorm, 5)
        XCTAssertEqual(parameters[0], -0.6, accuracy: 1e-6)
        XCTAssertEqual(parameters[1], -0.8, accuracy: 1e-6)
        XCTAssertEqual(gradient, [3, 4])
    }
}
