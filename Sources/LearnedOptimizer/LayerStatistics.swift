import Foundation

/// Per-layer reductions shared by the forward step and its adjoint, in one place so both use identical
/// formulas.
enum LayerStatistics {
    /// Added to rms(d) in the normalisation d̂ = d / (rms + ε), as in docs/method.md §1 (applied as the scale
    /// s = 1/(rms + ε)).
    static let normalisationEpsilon: Double = 1e-12

    /// Σ a_i b_i over `range`, in Double. Eight independent Double lanes: a single serial accumulator is one
    /// dependent add per element (the compiler may not reorder floating-point sums), which made these
    /// per-layer reductions the larger part of an L3RS step.
    @inline(__always)
    static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, _ range: Range<Int>) -> Double {
        guard let baseA = a.baseAddress, let baseB = b.baseAddress, !range.isEmpty else { return 0 }
        let x = UnsafeRawPointer(baseA + range.lowerBound), y = UnsafeRawPointer(baseB + range.lowerBound)
        let blocks = range.count / 8
        var lanes = SIMD8<Double>.zero
        for block in 0..<blocks {
            let offset = block * 32
            lanes += SIMD8<Double>(x.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
                * SIMD8<Double>(y.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
        }
        var sum = lanes.sum()
        for i in (range.lowerBound + blocks * 8)..<range.upperBound {
            sum += Double(a[i]) * Double(b[i])
        }
        return sum
    }

    /// log(ξ + floor): the log-statistic of docs/method.md §3, finite for a statistic that is exactly 0.
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
