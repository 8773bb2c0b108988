import XCTest
@testable import Kernels

final class GEMMTests: XCTestCase {
    /// Naive reference for C = op(A)·op(B) with the same storage conventions as `GEMM.multiply`.
    private func reference(_ a: [Float], transposeA: Bool, _ b: [Float], transposeB: Bool, m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total: Float = 0
                for p in 0..<k {
                    let av = transposeA ? a[p * m + i] : a[i * k + p]
                    let bv = transposeB ? b[j * k + p] : b[p * n + j]
                    total += av * bv
                }
                c[i * n + j] = total
            }
        }
        return c
    }

    func testAllTransposeCombinationsMatchNaiveProduct() {
        let m = 3, n = 4, k = 5
        let a = (0..<(m * k)).map { Float($0 % 7) - 3 }
        let b = (0..<(k * n)).map { Float($0 % 5) * 0.5 - 1 }
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                var c = [Float](repeating: 0, count: m * n)
                GEMM.multiply(a, transposeA: transposeA, b, transposeB: transposeB, into: &c, m: m, n: n, k: k)
                let expected = reference(a, transposeA: transposeA, b, transposeB: transposeB, m: m, n: n, k: k)
                for i in 0..<(m * n) { XCTAssertEqual(c[i], expected[i], accuracy: 1e-5) }
            }
        }
    }

    func testHandComputedProductAndAccumulation() {
        // A (2, 2) = [[1, 2], [3, 4]], B (2, 2) = [[5, 6], [7, 8]] → A·B = [[19, 22], [43, 50]].
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c: [Float] = [1, 1, 1, 1]
        GEMM.multiply(a, b, into: &c, m: 2, n: 2, k: 2, alpha: 1, beta: 1)
        XCTAssertEqual(c, [20, 23, 44, 51])
    }
}
