import CVectorKernels

/// Σ x² of a buffer (an L3RS layer, or a whole gradient for its norm), fed in one piece or chunk by chunk,
/// precise for any size: 32 lanes over whole blocks of 32 (`l3rs_add_squares`, in C for its AVX2 clone),
/// each lane summing one group of 2048 values in Float (64 terms) before adding it in Double; then the
/// lanes summed pairwise in Double, then the last (count mod 32) squares one by one. The result depends only
/// on the values, not on how they were cut into chunks, as long as every chunk but the last holds a
/// multiple of `chunkAlignment`.
public struct SumOfSquares: Sendable {
    public static let blockLength = 32
    /// Values per Float group of `l3rs_add_squares`.
    public static let chunkAlignment = Int(L3RS_SQUARE_GROUP_BLOCKS) * blockLength
    private var lanes = [Double](repeating: 0, count: 32)
    private var finished: Double?
    private var closed = false

    public init() {}

    public mutating func add(_ values: UnsafePointer<Float>, count: Int) {
        precondition(!closed, "SumOfSquares: a chunk after a partial last one")
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

    public var total: Double { finished ?? laneSum }

    public func rms(count: Int) -> Double { (total / Double(count)).squareRoot() }

    /// Back to zero, keeping the storage.
    public mutating func reset() {
        for j in lanes.indices { lanes[j] = 0 }
        finished = nil
        closed = false
    }
}
