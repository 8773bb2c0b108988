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

    /// The cut depends on m, n and k alone: the longer side of C, blocks of ≥ 64 rounded to 16, ≈2 M
    /// multiply-adds per task, at most 16 tasks; small products stay whole.
    func testPartitionOfTheZooProducts() {
        func cut(_ partition: GEMM.Partition) -> String { "\(partition.alongRows) \(partition.block) \(partition.tasks)" }
        func cut(_ alongRows: Bool, _ block: Int, _ tasks: Int) -> String { "\(alongRows) \(block) \(tasks)" }
        XCTAssertEqual(cut(GEMM.Partition(m: 128, n: 128, k: 3136)), cut(false, 64, 2))
        XCTAssertEqual(cut(GEMM.Partition(m: 128, n: 3136, k: 128)), cut(false, 208, 16))
        XCTAssertEqual(cut(GEMM.Partition(m: 3136, n: 128, k: 128)), cut(true, 208, 16))
        XCTAssertEqual(GEMM.Partition(m: 128, n: 10, k: 128).tasks, 1)
        XCTAssertEqual(GEMM.Partition(m: 100, n: 100, k: 100).tasks, 1)
        let wide = GEMM.Partition(m: 288, n: 1800, k: 64)
        XCTAssertFalse(wide.alongRows)
        XCTAssertGreaterThan(wide.tasks, 1)
        XCTAssertGreaterThanOrEqual((wide.tasks - 1) * wide.block, 1800 - wide.block)
        XCTAssertLessThan((wide.tasks - 1) * wide.block, 1800)
    }

    /// Products cut into blocks (by rows and by columns, every transpose, leading dimensions wider than a row,
    /// beta = 1 accumulation) give the same bits at 1, 2, 3 and 4 pool threads, and match the naive product.
    func testPartitionedProductsSameBitsAtEveryThreadCountAndCorrect() {
        let before = WorkerPool.shared.threadCount
        defer { WorkerPool.shared.setThreadCount(before) }
        var generator: UInt64 = 0x9E37_79B9
        func random(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                generator = generator &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int(generator >> 40) % 2001 - 1000) / 1000
            }
        }
        // (m, n, k): cut by columns, by rows with a partial last block, and a small one left whole.
        for (m, n, k) in [(40, 1000, 120), (1100, 40, 150), (9, 7, 5)] {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                let padding = 3
                let lda = (transposeA ? m : k) + padding, ldb = (transposeB ? k : n) + padding, ldc = n + padding
                let a = random((transposeA ? k : m) * lda), b = random((transposeB ? n : k) * ldb), start = random(m * ldc)
                var reference: [UInt32]?
                for threads in 1...4 {
                    WorkerPool.shared.setThreadCount(threads)
                    var c = start
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            c.withUnsafeMutableBufferPointer { c in
                                GEMM.multiply(a.baseAddress!, transposeA: transposeA, b.baseAddress!, transposeB: transposeB,
                                              into: c.baseAddress!, m: m, n: n, k: k, alpha: 0.5, beta: 1,
                                              leadingA: lda, leadingB: ldb, leadingC: ldc)
                            }
                        }
                    }
                    let bits = c.map(\.bitPattern)
                    if let reference {
                        XCTAssertEqual(bits, reference, "\(m)×\(n)×\(k) tA \(transposeA) tB \(transposeB): 1 and \(threads) threads differ")
                        continue
                    }
                    reference = bits
                    var worst: Float = 0
                    for i in 0..<m {
                        for j in 0..<ldc {
                            var expected = Double(start[i * ldc + j])
                            if j < n {
                                var sum = 0.0
                                for p in 0..<k {
                                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                                    sum += Double(av) * Double(bv)
                                }
                                expected += 0.5 * sum
                            }
                            worst = max(worst, abs(c[i * ldc + j] - Float(expected)))
                        }
                    }
                    XCTAssertLessThan(worst, 1e-4, "\(m)×\(n)×\(k) tA \(transposeA) tB \(transposeB)")
                }
            }
        }
    }
}
