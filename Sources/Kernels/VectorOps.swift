/// Element-wise and reduction loops over contiguous Float buffers.
///
/// Written as plain indexed loops over unsafe buffers so that the optimiser can vectorise them (no bounds
/// checks, no allocation, no closures). Reductions accumulate in eight independent lanes (`SIMD8`) so the
/// compiler may reorder the additions; this is also slightly more accurate than one serial accumulator.
public enum VectorOps {
    /// x[i] = value
    @inlinable
    public static func fill(_ x: UnsafeMutableBufferPointer<Float>, with value: Float) {
        guard let base = x.baseAddress else { return }
        base.update(repeating: value, count: x.count)
    }

    /// x[i] *= alpha
    @inlinable
    public static func scale(_ x: UnsafeMutableBufferPointer<Float>, by alpha: Float) {
        for i in 0..<x.count { x[i] *= alpha }
    }

    /// y[i] += alpha · x[i] (BLAS's axpy).
    @inlinable
    public static func addScaled(_ x: UnsafeBufferPointer<Float>, times alpha: Float, to y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "addScaled: length mismatch")
        for i in 0..<y.count { y[i] += alpha * x[i] }
    }

    /// y[i] += x[i]
    @inlinable
    public static func add(_ x: UnsafeBufferPointer<Float>, to y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "add: length mismatch")
        for i in 0..<y.count { y[i] += x[i] }
    }

    /// z[i] = x[i] + y[i]
    @inlinable
    public static func sum(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into z: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == z.count && y.count == z.count, "sum: length mismatch")
        for i in 0..<z.count { z[i] = x[i] + y[i] }
    }

    /// z[i] = x[i] · y[i]
    @inlinable
    public static func multiply(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, into z: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == z.count && y.count == z.count, "multiply: length mismatch")
        for i in 0..<z.count { z[i] = x[i] * y[i] }
    }

    /// y[i] = x[i]
    @inlinable
    public static func copy(_ x: UnsafeBufferPointer<Float>, to y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "copy: length mismatch")
        guard let source = x.baseAddress, let target = y.baseAddress else { return }
        target.update(from: source, count: x.count)
    }

    /// Σ x[i]
    @inlinable
    public static func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
        var lanes = SIMD8<Float>.zero
        let blocks = x.count / 8
        for b in 0..<blocks {
            let o = b * 8
            lanes += SIMD8(x[o], x[o + 1], x[o + 2], x[o + 3], x[o + 4], x[o + 5], x[o + 6], x[o + 7])
        }
        var total = lanes.sum()
        for i in (blocks * 8)..<x.count { total += x[i] }
        return total
    }

    /// Σ x[i] · y[i]
    @inlinable
    public static func dot(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Float {
        precondition(x.count == y.count, "dot: length mismatch")
        var lanes = SIMD8<Float>.zero
        let blocks = x.count / 8
        for b in 0..<blocks {
            let o = b * 8
            let a = SIMD8(x[o], x[o + 1], x[o + 2], x[o + 3], x[o + 4], x[o + 5], x[o + 6], x[o + 7])
            let c = SIMD8(y[o], y[o + 1], y[o + 2], y[o + 3], y[o + 4], y[o + 5], y[o + 6], y[o + 7])
            lanes += a * c
        }
        var total = lanes.sum()
        for i in (blocks * 8)..<x.count { total += x[i] * y[i] }
        return total
    }

    /// Σ x[i]²
    @inlinable
    public static func sumOfSquares(_ x: UnsafeBufferPointer<Float>) -> Float { dot(x, x) }

    /// Largest element (−∞ for an empty buffer).
    @inlinable
    public static func maximum(_ x: UnsafeBufferPointer<Float>) -> Float {
        var best = -Float.infinity
        for i in 0..<x.count where x[i] > best { best = x[i] }
        return best
    }

    /// Index of the first largest element (nil for an empty buffer).
    @inlinable
    public static func indexOfMaximum(_ x: UnsafeBufferPointer<Float>) -> Int? {
        guard x.count > 0 else { return nil }
        var bestIndex = 0
        for i in 1..<x.count where x[i] > x[bestIndex] { bestIndex = i }
        return bestIndex
    }

    /// y[i] = max(x[i], 0), sixteen lanes at a time. A scalar `max` or `? :` loop compiles to a branch per
    /// element (Swift's max must order NaNs), which the auto-vectoriser leaves alone; a SIMD16 compare and
    /// select is branch-free. `y` may be `x`.
    @inlinable
    public static func relu(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count, "relu: length mismatch")
        guard let source = x.baseAddress, let target = y.baseAddress else { return }
        let blocks = x.count / 16
        let s = UnsafeRawPointer(source), t = UnsafeMutableRawPointer(target)
        for b in 0..<blocks {
            let offset = b * 64
            let v = s.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            t.storeBytes(of: v.replacing(with: 0, where: .!(v .> 0)), toByteOffset: offset, as: SIMD16<Float>.self)
        }
        for i in (blocks * 16)..<x.count { target[i] = source[i] > 0 ? source[i] : 0 }
    }

    /// dx[i] = y[i] > 0 ? dy[i] : 0 (ReLU's derivative through its output y; 0 at exactly 0, like PyTorch).
    @inlinable
    public static func reluGradient(
        output y: UnsafeBufferPointer<Float>, gradient dy: UnsafeBufferPointer<Float>, into dx: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(y.count == dy.count && y.count == dx.count, "reluGradient: length mismatch")
        guard let out = y.baseAddress, let grad = dy.baseAddress, let target = dx.baseAddress else { return }
        let blocks = y.count / 16
        let o = UnsafeRawPointer(out), g = UnsafeRawPointer(grad), t = UnsafeMutableRawPointer(target)
        for b in 0..<blocks {
            let offset = b * 64
            let mask = o.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) .> 0
            let v = g.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            t.storeBytes(of: SIMD16<Float>(repeating: 0).replacing(with: v, where: mask), toByteOffset: offset, as: SIMD16<Float>.self)
        }
        for i in (blocks * 16)..<y.count { target[i] = out[i] > 0 ? grad[i] : 0 }
    }

    /// (Σ x[i], Σ (x[i] − shift)², Σ x[i]·y[i]) in Double, in eight independent lanes: one serial Double
    /// accumulator is a dependent add per element (the compiler may not reorder floating-point sums), which
    /// made BatchNorm's statistics slower than the convolutions next to them. Pass `y: nil` to skip the dot.
    @inlinable
    public static func doubleSums(_ x: UnsafePointer<Float>, count: Int, shift: Double = 0,
                                  dot y: UnsafePointer<Float>? = nil) -> (sum: Double, squares: Double, dot: Double) {
        var sum = SIMD8<Double>.zero, squares = SIMD8<Double>.zero, dot = SIMD8<Double>.zero
        let shifts = SIMD8<Double>(repeating: shift)
        let raw = UnsafeRawPointer(x)
        let blocks = count / 8
        if let y {
            let other = UnsafeRawPointer(y)
            for b in 0..<blocks {
                let v = SIMD8<Double>(raw.loadUnaligned(fromByteOffset: b * 32, as: SIMD8<Float>.self))
                let w = SIMD8<Double>(other.loadUnaligned(fromByteOffset: b * 32, as: SIMD8<Float>.self))
                sum += v
                dot += v * w
            }
        } else {
            for b in 0..<blocks {
                let v = SIMD8<Double>(raw.loadUnaligned(fromByteOffset: b * 32, as: SIMD8<Float>.self))
                sum += v
                let d = v - shifts
                squares += d * d
            }
        }
        var totals = (sum: sum.sum(), squares: squares.sum(), dot: dot.sum())
        for i in (blocks * 8)..<count {
            let v = Double(x[i])
            totals.sum += v
            if let y { totals.dot += v * Double(y[i]) } else { totals.squares += (v - shift) * (v - shift) }
        }
        return totals
    }
}
