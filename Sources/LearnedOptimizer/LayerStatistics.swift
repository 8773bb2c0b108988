import Foundation

/// Per-layer reductions shared by the forward step and its adjoint, in one place so both use identical
/// formulas.
enum LayerStatistics {
    /// Added to rms(d) before dividing, as in method.md §1.
    static let normalisationEpsilon: Double = 1e-12

    /// √(mean of squares) over `range`, accumulated in Double so million-element layers lose no precision.
    @inline(__always)
    static func rms(_ values: UnsafeBufferPointer<Float>, _ range: Range<Int>) -> Double {
        var sum = 0.0
        for i in range {
            let x = Double(values[i])
            sum += x * x
        }
        return (sum / Double(range.count)).squareRoot()
    }

    /// Σ a_i b_i over `range`, in Double.
    @inline(__always)
    static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, _ range: Range<Int>) -> Double {
        var sum = 0.0
        for i in range {
            sum += Double(a[i]) * Double(b[i])
        }
        return sum
    }

    /// log(ξ + floor): the log-statistic of method.md §3, finite for a statistic that is exactly 0.
    @inline(__always)
    static func logScale(_ statistic: Float) -> Double {
        log(Double(statistic) + FeatureLayout.logFloor)
    }

    /// ∂ log(rms(x) + floor) / ∂x_i = x_i / (n · rms · (rms + floor)), as the factor multiplying x_i;
    /// 0 when rms is 0 (the derivative of rms does not exist there; the layer is all zeros).
    @inline(__always)
    static func logRMSDerivativeFactor(rms: Float, count: Int) -> Float {
        guard rms > 0 else { return 0 }
        let r = Double(rms)
        return Float(1 / (Double(count) * r * (r + FeatureLayout.logFloor)))
    }
}
