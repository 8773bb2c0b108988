/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_` does it.
///
/// Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks" (ICML 2013).
/// Clipping by the norm of the whole flat gradient (not per layer) keeps the direction and only shortens it.
public enum GradientClipping {
    /// The Euclidean norm of `values`, accumulated in Double (`SumOfSquares`: Float only within groups of
    /// 2048) so that millions of small squares do not lose precision (a Float sum stalls once it is ~10⁷ times
    /// larger than each term). Fixed summation order, so the result is deterministic on every rank.
    ///
    /// The Float groups overflow once an entry exceeds about 1.8e19 (its square passes Float's range): a finite
    /// gradient then gets its norm from a sum in Double alone (no finite Float squared overflows a Double), so a
    /// huge but finite gradient is clipped to `maxNorm` rather than scaled to zero or reported as non-finite.
    /// Gradients with NaN or infinite entries still give a non-finite norm.
    public static func globalNorm(_ values: UnsafeBufferPointer<Float>) -> Double {
        guard let base = values.baseAddress, !values.isEmpty else { return 0 }
        var sum = SumOfSquares()
        sum.add(base, count: values.count)
        let norm = sum.total.squareRoot()
        guard !norm.isFinite else { return norm }
        var wide = 0.0
        for value in values {
            wide += Double(value) * Double(value)
        }
        return wide.squareRoot()
    }

    /// Scales `gradient` in place so that its norm is at most `maxNorm`, and returns the norm before clipping.
    ///
    /// Like PyTorch, the scale is maxNorm / (norm + 1e-6), applied only when it is below 1. A non-finite
    /// norm leaves the gradient untouched and is returned, so the caller can skip the step and log it
    /// rather than spread NaN into every parameter.
    @discardableResult
    public static func clipGlobalNorm(_ gradient: UnsafeMutableBufferPointer<Float>, maxNorm: Double) -> Double {
        precondition(maxNorm > 0, "clipGlobalNorm: maxNorm must be positive, got \(maxNorm)")
        let norm = globalNorm(UnsafeBufferPointer(gradient))
        guard norm.isFinite else { return norm }
        let scale = scale(forNorm: norm, maxNorm: maxNorm)
        if scale < 1 {
            let factor = Float(scale)
            for i in gradient.indices {
                gradient[i] *= factor
            }
        }
        return norm
    }

    /// The factor clipping multiplies a gradient of norm `norm` by; `form` says which (PyTorch's by default).
    /// Exposed so a caller that copies the gradient anyway can fold the scaling into the copy.
    public static func scale(forNorm norm: Double, maxNorm: Double, form: Form = .pyTorch) -> Double {
        switch form {
        case .pyTorch: min(1, maxNorm / (norm + 1e-6))
        case .exact: norm > maxNorm ? maxNorm / norm : 1
        }
    }

    /// How the scale follows from the norm. The two differ only near the threshold and in the last bits; each
    /// user keeps its own so that its fixed-seed results do not change.
    public enum Form: Sendable, Equatable {
        /// min(1, maxNorm / (norm + 1e-6)), as `torch.nn.utils.clip_grad_norm_`: the fine-tuning trainer's.
        case pyTorch
        /// maxNorm / norm when norm > maxNorm, else 1: the clipped norm is maxNorm itself. The meta-optimizer's.
        case exact
    }
}
