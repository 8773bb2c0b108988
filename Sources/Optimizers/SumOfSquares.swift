import CVectorKernels

/// Σ x² of a buffer (an L3RS layer, or a whole gradient for its norm), fed in one piece or chunk by chunk,
/// precise for any size: 32 lanes over whole blocks of 32 (`l3rs_add_squares`, in C for its AVX2 clone),
/// each lane summing one group of 2048 values in Float (64 terms) before adding it in Double; then the
/// lanes summed pairwise in Double, then the last (count mod 32) squares one by one. The result depends only
/// on the values, not on how they were cut into chunks, as long as every chunk but the last holds a
/// multiple of `chunkAlignment`.
///
/// A sum can also be handed on (sharded optimizer state cuts a layer between ranks): `serialised` writes the
/// lanes and the tail, and `append(serialised:)` adds another sum's lanes and tail to this one's. Fed one
/// chunk each, sums appended in order give the sum fed all the chunks, bit for bit (each lane adds the same
/// Double group sums in the same order: 0 + x is x).
public struct SumOfSquares: Sendable {
    public static let blockLength = 32
    /// Values per Float group of `l3rs_add_squares`.
    public static let chunkAlignment = Int(L3RS_SQUARE_GROUP_BLOCKS) * blockLength
    private var lanes = [Double](repeating: 0, count: 32)
    /// The squares of the last (count mod 32) values, added one by one after the lanes.
    private var tail: [Double] = []
    private var closed = false

    public init() {}

    public mutating func add(_ values: UnsafePointer<Float>, count: Int) {
        precondition(!closed, "SumOfSquares: a chunk after a partial last one")
        closed = count % Self.chunkAlignment != 0
        let blocks = count / Self.blockLength
        lanes.withUnsafeMutableBufferPointer { l3rs_add_squares(values, blocks, $0.baseAddress!) }
        for i in (blocks * Self.blockLength)..<count {
            tail.append(Double(values[i]) * Double(values[i]))
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

    public var total: Double {
        var sum = laneSum
        for square in tail { sum += square }
        return sum
    }

    /// Appends the lanes (32), the tail's length and its squares: `serialisedLength` values.
    public func serialise(into buffer: inout [Double]) {
        buffer += lanes
        buffer.append(Double(tail.count))
        buffer += tail
    }

    /// The values `serialise` appends.
    public var serialisedLength: Int { Self.blockLength + 1 + tail.count }

    /// Adds a serialised sum (from `serialise`) that continues this one: lane by lane, then its tail; returns
    /// how many values it read from `values`.
    public mutating func append(serialised values: UnsafeBufferPointer<Double>) -> Int {
        precondition(!closed, "SumOfSquares: a sum after a partial last chunk")
        precondition(values.count > Self.blockLength, "SumOfSquares: a serialised sum has at least 33 values")
        for j in 0..<Self.blockLength { lanes[j] += values[j] }
        let tailCount = Int(values[Self.blockLength])
        precondition(tailCount < Self.blockLength && values.count >= Self.blockLength + 1 + tailCount,
                     "SumOfSquares: a serialised tail of \(tailCount) values")
        for i in 0..<tailCount { tail.append(values[Self.blockLength + 1 + i]) }
        closed = tailCount > 0
        return Self.blockLength + 1 + tailCount
    }

    public func rms(count: Int) -> Double { (total / Double(count)).squareRoot() }

    /// Back to zero, keeping the storage.
    public mutating func reset() {
        for j in lanes.indices { lanes[j] = 0 }
        tail.removeAll(keepingCapacity: true)
        closed = false
    }
}
