import CVectorKernels
import Foundation

/// Per-layer reductions shared by the forward step and its adjoint, in one place so both use identical
/// formulas.
enum LayerStatistics {
    /// Added to rms(d) before dividing, as in method.md §1.
    static let normalisationEpsilon: Double = 1e-12

    /// Σ x² of one layer fed chunk by chunk, precise for any layer size: 32 lanes over whole blocks of 32
    /// (`l3rs_add_squares`, in C for its AVX2 clone), each lane summing one group of 2048 values in Float
    /// (64 terms) before adding it in Double; then the lanes summed pairwise in Double, then the last
    /// (count mod 32) squares one by one. The result depends only on the layer's values, not on how it was
    /// cut into chunks, as long as every chunk but the layer's last holds a multiple of `chunkAlignment`.
    struct SquareSum {
        static let blockLength = 32
        /// Values per Float group of `l3rs_add_squares`.
        static let chunkAlignment = Int(L3RS_SQUARE_GROUP_BLOCKS) * blockLength
        private var lanes = [Double](repeating: 0, count: 32)
        private var finished: Double?
        private var closed = false

        mutating func add(_ values: UnsafePointer<Float>, count: Int) {
            precondition(!closed, "SquareSum: a chunk after the layer's partial last one")
            closed = count % Self.chunkAlignment != 0
            let blocks = count / Self.blockLength
            lanes.withUnsafeMutableBufferPointer { l3rs_add_squares(values, blocks, $0.baseAddress!) }
            if blocks * Self.blockLength < count {
                var sum = laneSum
                for i in (blocks * Self.blockLength)..<count {
                    sum += Double(values[i]) * Double(values[i])
                }
                finished = sum
            }
        }

        /// Pairwise over the 32 lanes.
        private var laneSum: Double {
            withUnsafeTemporaryAllocation(of: Double.self, capacity: Self.blockLength) { partial in
                _ = partial.initialize(from: lanes)
                var width = Self.blockLength
                while width > 1 {
                    width /= 2
                    for j in 0..<width { partial[j] += partial[j + width] }
                }
                return partial[0]
            }
        }

        var total: Double { finished ?? laneSum }

        func rms(count: Int) -> Double { (total / Double(count)).squareRoot() }

        /// Back to zero, keeping the storage.
        mutating func reset() {
            for j in lanes.indices { lanes[j] = 0 }
            finished = nil
            closed = false
        }
    }

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
