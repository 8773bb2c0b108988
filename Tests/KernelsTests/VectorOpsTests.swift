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
