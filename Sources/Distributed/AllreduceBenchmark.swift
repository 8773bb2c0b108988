/// Times allreduce at a range of message sizes: what `l3rs doctor` reports so that a slow interconnect (TCP where
/// InfiniBand was expected, a rank across a slow link) shows before a long job starts.
///
/// Every rank runs the same number of repetitions of each size (so the collectives match), after one warm-up call
/// that sets up connections. The time reported is the slowest rank's, as that is what a training step waits for.
public enum AllreduceBenchmark {
    /// One message size's result.
    public struct Result: Sendable, Equatable {
        public let bytes: Int
        public let repetitions: Int
        /// Mean seconds per allreduce, slowest rank.
        public let seconds: Double
        /// Bytes / seconds, in GB/s (10^9).
        public let algorithmBandwidth: Double
        /// The algorithm bandwidth × 2(n-1)/n: what each rank's link carries in a ring allreduce, comparable
        /// with the link's nominal speed (the convention of nccl-tests).
        public let busBandwidth: Double
    }

    /// Message sizes from 4 KB to 16 MB, ×16 apart.
    public static let defaultSizes = [4 << 10, 64 << 10, 1 << 20, 16 << 20]

    /// Repetitions for a message size: many for small messages (whose time is latency), few for large ones.
    public static func repetitions(bytes: Int) -> Int {
        max(4, min(200, (64 << 20) / max(bytes, 1)))
    }

    /// Runs the benchmark; a collective, so every rank calls it with the same sizes.
    public static func run(_ communicator: any Communicator, sizes: [Int] = defaultSizes) throws -> [Result] {
        let clock = ContinuousClock()
        var results: [Result] = []
        for bytes in sizes {
            let count = max(1, bytes / MemoryLayout<Float>.size)
            // Zeros: the sum stays zero however often it is repeated (no overflow, no denormals to slow it).
            var buffer = [Float](repeating: 0, count: count)
            let repetitions = repetitions(bytes: bytes)
            try communicator.barrier()
            try buffer.withUnsafeMutableBufferPointer { pointer in
                try communicator.allreduce(pointer, op: .sum)  // warm-up
            }
            try communicator.barrier()
            let elapsed = try clock.measure {
                try buffer.withUnsafeMutableBufferPointer { pointer in
                    for _ in 0..<repetitions { try communicator.allreduce(pointer, op: .sum) }
                }
            }
            let local = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let slowest = try communicator.allreduce(local, op: .max) / Double(repetitions)
            let actualBytes = count * MemoryLayout<Float>.size
            let algorithm = Double(actualBytes) / max(slowest, 1e-12) / 1e9
            let size = Double(communicator.size)
            results.append(Result(bytes: actualBytes, repetitions: repetitions, seconds: slowest, algorithmBandwidth: algorithm,
                                  busBandwidth: size > 1 ? algorithm * 2 * (size - 1) / size : algorithm))
        }
        return results
    }
}
