import XCTest
@testable import Kernels

final class VectorOpsTests: XCTestCase {
    func testElementwiseOperations() {
        var y: [Float] = [1, 2, 3]
        let x: [Float] = [10, 20, 30]
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                VectorOps.addScaled(xs, times: 0.5, to: ys)
                VectorOps.scale(ys, by: 2)
                VectorOps.add(xs, to: ys)
            }
        }
        XCTAssertEqual(y, [22, 44, 66])
        var z = [Float](repeating: 0, count: 3)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeBufferPointer { ys in
                z.withUnsafeMutableBufferPointer { zs in
                    VectorOps.multiply(xs, ys, into: zs)
                    XCTAssertEqual(Array(zs), [220, 880, 1980])
                    VectorOps.sum(xs, ys, into: zs)
                    XCTAssertEqual(Array(zs), [32, 64, 96])
                    VectorOps.fill(zs, with: 7)
                }
            }
        }
        XCTAssertEqual(z, [7, 7, 7])
    }

    func testReductionsCoverTailElements() {
        let x = (1...19).map(Float.init)
        x.withUnsafeBufferPointer { xs in
            XCTAssertEqual(VectorOps.sum(xs), 190)
            XCTAssertEqual(VectorOps.sumOfSquares(xs), Float((1...19).map { $0 * $0 }.reduce(0, +)))
            XCTAssertEqual(VectorOps.dot(xs, xs), VectorOps.sumOfSquares(xs))
            XCTAssertEqual(VectorOps.maximum(xs), 19)
            XCTAssertEqual(VectorOps.indexOfMaximum(xs), 18)
        }
        [Float]().withUnsafeBufferPointer { empty in
            XCTAssertEqual(VectorOps.sum(empty), 0)
            XCTAssertNil(VectorOps.indexOfMaximum(empty))
        }
    }
}

/// The SIMD ReLU kernels against their scalar definitions, over a length with a tail and with ±0 and NaN.
final class ReLUKernelTests: XCTestCase {
    func testReLUAndGradientMatchDefinition() {
        let count = 37
        var x = (0..<count).map { Float(($0 * 5) % 9) - 4 }
        x[3] = -0.0
        x[20] = .nan
        let dy = (0..<count).map { Float($0) + 0.5 }
        var y = [Float](repeating: 9, count: count)
        var dx = [Float](repeating: 9, count: count)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { VectorOps.relu(xs, into: $0) }
        }
        y.withUnsafeBufferPointer { ys in
            dy.withUnsafeBufferPointer { dys in
                dx.withUnsafeMutableBufferPointer { VectorOps.reluGradient(output: ys, gradient: dys, into: $0) }
            }
        }
        for i in 0..<count {
            XCTAssertEqual(y[i], x[i] > 0 ? x[i] : 0, "relu at \(i)")
            XCTAssertEqual(dx[i], y[i] > 0 ? dy[i] : 0, "gradient at \(i)")
        }
    }
}
