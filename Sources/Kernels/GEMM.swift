import CBLAS

/// Row-major single-precision matrix products through OpenBLAS's `cblas_sgemm`.
///
/// Every layer's heavy work (Linear, Conv2d over im2col columns) funnels through this one call, so the
/// argument conventions live in one place: all matrices are row-major, and `transposeA`/`transposeB`
/// describe how the *stored* matrix relates to the operand used in the product.
///
/// A large product is cut into blocks of C's rows or columns (`Partition`, a function of m, n and k alone)
/// that run as `WorkerPool.shared` tasks, each a one-thread `cblas_sgemm`: the rank's threads are the pool's,
/// OpenBLAS keeps one (`WorkerPool.shared` sets it), so no OpenBLAS thread spins between products on a core
/// the pool's loops need, and the bits of C are the same at any thread count.
public enum GEMM {
    /// How a product is cut: `tasks` blocks of `block` rows (`alongRows`) or columns of C, the last shorter.
    public struct Partition: Equatable, Sendable {
        public var alongRows: Bool
        public var block: Int
        public var tasks: Int

        /// At least ≈2 M multiply-adds per task (a task costs a pool hand-off of some microseconds), at most
        /// `maximumTasks`, and blocks of at least 64 rows or columns (each task packs the other operand
        /// whole, so thin blocks would repack it over and over). Splits the longer side of C.
        public init(m: Int, n: Int, k: Int) {
            alongRows = m > n
            let side = alongRows ? m : n
            let byWork = (m * n * k) / GEMM.multiplyAddsPerTask
            let wanted = max(1, min(GEMM.maximumTasks, byWork, side / GEMM.minimumBlock))
            block = (side + wanted - 1) / wanted
            block = (block + 15) / 16 * 16
            tasks = (side + block - 1) / block
        }
    }

    public static let multiplyAddsPerTask = 1 << 21
    public static let maximumTasks = 16
    public static let minimumBlock = 64

    /// C = alpha · op(A) · op(B) + beta · C.
    ///
    /// - op(A): (m, k). A is stored (m, k) row-major, or (k, m) when `transposeA` is true.
    /// - op(B): (k, n). B is stored (k, n) row-major, or (n, k) when `transposeB` is true.
    /// - C: (m, n) row-major. With `beta == 1` the product is accumulated into C (used for gradients).
    /// - leadingA/B/C: the distance between stored rows, when an operand is a block of columns of a wider
    ///   matrix (a chunk of images in Conv2d's batched column matrix). nil means dense (the stored width).
    public static func multiply(
        _ a: UnsafePointer<Float>, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, transposeB: Bool = false,
        into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, beta: Float = 0,
        leadingA: Int? = nil, leadingB: Int? = nil, leadingC: Int? = nil
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must be non-negative")
        if m == 0 || n == 0 { return }
        let denseA = transposeA ? m : k
        let denseB = transposeB ? k : n
        let lda = leadingA ?? denseA, ldb = leadingB ?? denseB, ldc = leadingC ?? n
        precondition(lda >= denseA && ldb >= denseB && ldc >= n, "GEMM leading dimension smaller than a row")
        let pool = WorkerPool.shared  // also sets OpenBLAS to one thread before the first product
        let partition = Partition(m: m, n: n, k: k)
        guard partition.tasks > 1 else {
            sgemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, m: m, n: n, k: k,
                  alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
            return
        }
        pool.run(tasks: partition.tasks) { task, _ in
            let start = task * partition.block
            if partition.alongRows {
                let rows = min(partition.block, m - start)
                sgemm(transposeA ? a + start : a + start * lda, transposeA: transposeA, b, transposeB: transposeB,
                      into: c + start * ldc, m: rows, n: n, k: k, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
            } else {
                let columns = min(partition.block, n - start)
                sgemm(a, transposeA: transposeA, transposeB ? b + start * ldb : b + start, transposeB: transposeB,
                      into: c + start, m: m, n: columns, k: k, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
            }
        }
    }

    /// One `cblas_sgemm` call, on OpenBLAS's own threads (one, unless a benchmark set more).
    static func sgemm(
        _ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
        into c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float, lda: Int, ldb: Int, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(max(1, lda)),
            b, blasint(max(1, ldb)),
            beta, c, blasint(max(1, ldc))
        )
    }
}
