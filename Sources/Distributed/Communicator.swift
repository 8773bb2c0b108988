/// The reduction a collective applies element-wise across ranks.
public enum ReduceOp: String, Sendable, CaseIterable {
    case sum, mean, max, min
}

/// A pending nonblocking allreduce. `wait()` completes it (and applies the mean's scaling); the buffer
/// passed to `startAllreduce` must stay alive and untouched until then.
public protocol AllreduceRequest: AnyObject {
    /// Blocks until the reduction has landed in the buffer.
    func wait() throws
    /// Lets the reduction advance without blocking and says whether it has landed (then `wait()` returns at
    /// once). Open MPI has no progress thread by default: a nonblocking collective moves only while its
    /// process is inside an MPI call, so a backward pass that wants its buckets to travel while it computes
    /// has to poke them between layers.
    /// No default: a wrapper that inherited a `true` would report every reduction landed without asking
    /// MPI (the watchdog's wrapper did, so overlap never progressed and a polling wait spun in MPI_Wait).
    @discardableResult
    func progress() throws -> Bool
}

/// Every collective of the program goes through this protocol, in the same order on every rank.
/// Two implementations: `MPICommunicator` (under mpirun, srun, ...) and `SingleProcessCommunicator`
/// (one rank, no launcher needed: a laptop or a login node).
public protocol Communicator: AnyObject {
    /// This process's index in the world, 0 ..< size.
    var rank: Int { get }
    /// Number of ranks in the world.
    var size: Int { get }
    /// This process's index among the ranks on the same node.
    var localRank: Int { get }
    /// Number of ranks on this node.
    var localSize: Int { get }
    /// Name of the host this rank runs on.
    var hostName: String { get }
    /// A short description of the implementation, for logs ("mpi (Open MPI v4.1.4)", "single-process").
    var implementationName: String { get }

    /// In-place allreduce of a Float buffer.
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws
    /// In-place allreduce of a Double buffer.
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws
    /// Starts an in-place allreduce of a Float buffer and returns at once.
    func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws -> any AllreduceRequest
    /// Reduces `input` (the same length on every rank) element-wise over ranks and hands rank r only segment r
    /// of the result, in `output` (`counts[r]` elements). Segments are consecutive, in rank order, of lengths
    /// `counts` (one per rank, summing to `input.count`). Sharded optimizer state needs only its own segment of
    /// the mean gradient, and this moves half the data of an allreduce.
    func reduceScatter(_ input: UnsafeBufferPointer<Float>, counts: [Int], into output: UnsafeMutableBufferPointer<Float>,
                       op: ReduceOp) throws
    /// In-place all-gather: on entry rank r's segment (consecutive segments of lengths `counts`, in rank order)
    /// is in place in `buffer`; on return every rank's `buffer` holds every segment. The other ranks' segments
    /// are overwritten, bit for bit.
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    /// Copies `root`'s bytes into every other rank's buffer (all buffers have the same size).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Returns when every rank has entered it.
    func barrier() throws
    /// Ends every rank of the job at once with `code` (after an error that other ranks cannot see).
    func abort(code: Int32) -> Never
    /// Names what the following collectives belong to ("step 12"), so that a collective that never finishes can
    /// be reported with it (`WatchedCommunicator`). Communicators without diagnostics ignore it.
    func enterPhase(_ phase: @autoclosure () -> String)
}

extension Communicator {
    /// Checks the segment lengths of `reduceScatter` and `allgather`: one per rank, none negative, adding up to
    /// `total`, and (MPI counts are Int32) none beyond Int32.max; `mine`, when given, must be this rank's.
    public func validateSegments(_ counts: [Int], total: Int, mine: Int? = nil) throws {
        guard counts.count == size else {
            throw CommunicatorError.invalidArgument("\(counts.count) segment lengths for a world of \(size) rank(s)")
        }
        guard counts.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }), counts.reduce(0, +) == total else {
            throw CommunicatorError.invalidArgument("segment lengths \(counts) do not cut a buffer of \(total) elements")
        }
        if let mine, mine != counts[rank] {
            throw CommunicatorError.invalidArgument("rank \(rank)'s output holds \(mine) elements, its segment \(counts[rank])")
        }
    }

    /// The first element of each segment (exclusive prefix sums of `counts`).
    public static func segmentOffsets(_ counts: [Int]) -> [Int] {
        var offsets: [Int] = [], next = 0
        for count in counts { offsets.append(next); next += count }
        return offsets
    }

    /// Whether this rank writes shared files and prints the job's progress.
    public var isRoot: Bool { rank == 0 }

    /// By default phases are not recorded (the text is never built).
    public func enterPhase(_ phase: @autoclosure () -> String) {}

    /// Allreduce of a Swift array, for small values (losses, counters) off the hot path.
    public func allreduce(_ values: inout [Double], op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Allreduce of a Swift array of Floats, off the hot path.
    public func allreduce(_ values: inout [Float], op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Allreduce of one Double.
    public func allreduce(_ value: Double, op: ReduceOp) throws -> Double {
        var values = [value]
        try allreduce(&values, op: op)
        return values[0]
    }

    /// Broadcast of a Float buffer from `root`.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try broadcast(UnsafeMutableRawBufferPointer(buffer), root: root)
    }

    /// Broadcast of a Swift array of Floats from `root` (all ranks pass arrays of the same length).
    public func broadcast(_ values: inout [Float], root: Int) throws {
        try values.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// Broadcast of a UInt64 (a hash, a seed) from `root`.
    public func broadcast(_ value: UInt64, root: Int) throws -> UInt64 {
        var copy = value
        try withUnsafeMutableBytes(of: &copy) { try broadcast($0, root: root) }
        return copy
    }

    /// Gathers one UInt64 from every rank onto every rank (used to compare parameter hashes).
    /// Built on allreduce so the protocol stays small: each rank fills its own slot, the rest are zero.
    public func allgather(_ value: UInt64) throws -> [UInt64] {
        // Split into two exactly representable 32-bit halves carried in Doubles.
        var slots = [Double](repeating: 0, count: 2 * size)
        slots[2 * rank] = Double(value >> 32)
        slots[2 * rank + 1] = Double(value & 0xFFFF_FFFF)
        try allreduce(&slots, op: .sum)
        return (0..<size).map { UInt64(slots[2 * $0]) << 32 | UInt64(slots[2 * $0 + 1]) }
    }
}

extension Communicator {
    /// Gathers every rank's Doubles (any number, per rank) onto every rank, in rank order, bit for bit: the
    /// lengths first (unless every rank passes the same `lengths`, known from an earlier call), then the values'
    /// bytes through the Float all-gather, which copies and never adds.
    public func allgather(_ values: [Double], lengths known: [Int]? = nil) throws -> [[Double]] {
        if let known {
            guard known.count == size, known[rank] == values.count else {
                throw CommunicatorError.invalidArgument("allgather of \(values.count) values on rank \(rank), expected lengths \(known)")
            }
        }
        let lengths = try known ?? allgather(UInt64(values.count)).map { Int($0) }
        let floatsPerValue = MemoryLayout<Double>.size / MemoryLayout<Float>.size
        var buffer = [Double](repeating: 0, count: lengths.reduce(0, +))
        let start = lengths[..<rank].reduce(0, +)
        buffer.replaceSubrange(start..<(start + values.count), with: values)
        try buffer.withUnsafeMutableBufferPointer { doubles in
            try doubles.withMemoryRebound(to: Float.self) { floats in
                try allgather(floats, counts: lengths.map { $0 * floatsPerValue })
            }
        }
        var offset = 0
        return lengths.map { length in
            defer { offset += length }
            return Array(buffer[offset..<(offset + length)])
        }
    }
}

extension Communicator {
    /// Gathers one short text from every rank onto every rank, in rank order (host names, placement records).
    /// Off the hot path. Each text is cut to `maxBytes` UTF-8 bytes; bytes travel as Floats (exact for 0...255)
    /// through a sum allreduce in which every other rank contributes zeros.
    public func allgather(_ text: String, maxBytes: Int = 512) throws -> [String] {
        let bytes = Array(text.utf8.prefix(maxBytes))
        var slots = [Float](repeating: 0, count: (maxBytes + 1) * size)
        let base = rank * (maxBytes + 1)
        slots[base] = Float(bytes.count)
        for (index, byte) in bytes.enumerated() { slots[base + 1 + index] = Float(byte) }
        try allreduce(&slots, op: .sum)
        return (0..<size).map { member in
            let start = member * (maxBytes + 1)
            let count = Int(slots[start])
            return String(decoding: slots[(start + 1)..<(start + 1 + count)].map { UInt8($0) }, as: UTF8.self)
        }
    }
}
