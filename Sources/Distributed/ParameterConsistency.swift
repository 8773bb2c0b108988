/// Ranks of a data-parallel job must hold bit-identical parameters. A hash compared across ranks on a
/// schedule catches a divergence (a nondeterministic kernel, a missed collective) at the step it appears,
/// instead of as a silently wrong model.
public enum ParameterConsistency {
    /// FNV-1a over the bit patterns of the floats: any change of any bit changes the hash with high probability.
    public static func hash(_ values: UnsafeBufferPointer<Float>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in values {
            var bits = UInt64(value.bitPattern)
            for _ in 0..<4 {
                hash ^= bits & 0xFF
                hash = hash &* 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        return hash
    }

    /// The ranks whose hash differs from rank 0's (empty when all agree).
    public static func disagreeingRanks(_ communicator: any Communicator, values: UnsafeBufferPointer<Float>) throws -> [Int] {
        let hashes = try communicator.allgather(hash(values))
        return hashes.indices.filter { hashes[$0] != hashes[0] }
    }
}

/// The parameters of some ranks differ from rank 0's.
public struct ParameterMismatchError: Error, CustomStringConvertible {
    public let step: Int
    public let ranks: [Int]
    public init(step: Int, ranks: [Int]) { self.step = step; self.ranks = ranks }
    public var description: String {
        "parameters diverged at step \(step): rank(s) \(ranks.map(String.init).joined(separator: ", ")) differ from rank 0 "
            + "(set onHashMismatch: rebroadcast to copy rank 0's parameters instead of stopping)"
    }
}
