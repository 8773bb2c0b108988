import CBLAS

/// Row-major single-precision matrix products through OpenBLAS's `cblas_sgemm`.
///
/// Every layer's heavy work (Linear, Conv2d over im2col columns) funnels through this one call, so the
/// argument conventions live in one place: all matrices are row-major, and `transposeA`/`transposeB`
/// describe how the *stored* matrix relates to the operand used in the product.
public enum GEMM {
    /// C = alpha · op(A) · op(B) + beta · C.
    ///
    /// - op(A): (m, k). A is stored (m, k) row-major, or (k, m) when `transposeA` is true.
    /// - op(B): (k, n). B is stored (k, n) row-major, or (n, k) when `transposeB` is true.
    /// - C: (m, n) row-major. With `beta == 1` the product is accumulated into C (used for gradients).
    /// - leadingA/B/C: the distance between stored rows, when an operand is a block of columns of a wider
    ///   matrix (a chunk of images in Conv2d's batched column matrix). nil means dense (the stored width).
    @inlinable
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
