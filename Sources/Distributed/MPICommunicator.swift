import CMPI

/// The Communicator over MPI_COMM_WORLD. Every MPI return code is checked and turned into a
/// `CommunicatorError.mpi` that carries MPI's error string and this rank.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let localSize: Int
    public let hostName: String
    private let world: MPI_Comm?
    private var nodeComm: MPI_Comm?

    /// MPI counts are Int32; larger buffers go in chunks of this many elements.
    static let maxChunk = 1 << 30

    /// Initialises MPI (once per process) and describes this rank's place in the world and on its node.
    public init() throws {
        try MPIEnvironment.initialize()
        world = cmpi_comm_world()
        var value: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(world, &value), rank: -1)
        rank = Int(value)
        try Self.check("MPI_Comm_size", MPI_Comm_size(world, &value), rank: rank)
        size = Int(value)

        var node: MPI_Comm? = cmpi_comm_null()
        try Self.check("MPI_Comm_split_type", MPI_Comm_split_type(world, cmpi_comm_type_shared(), Int32(rank), cmpi_info_null(), &node), rank: rank)
        MPI_Comm_set_errhandler(node, cmpi_errors_return())
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(node, &value), rank: rank)
        localRank = Int(value)
        try Self.check("MPI_Comm_size", MPI_Comm_size(node, &value), rank: rank)
        localSize = Int(value)
        nodeComm = node

        var name = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var length: Int32 = 0
        try Self.check("MPI_Get_processor_name", MPI_Get_processor_name(&name, &length), rank: rank)
        hostName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        if MPIEnvironment.isActive, nodeComm != nil { MPI_Comm_free(&nodeComm) }
    }

    public var implementationName: String { "mpi (\(MPIEnvironment.libraryVersion))" }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {
        try reduceInPlace(buffer, datatype: cmpi_float(), op: op)
        if op == .mean { scale(buffer, by: 1 / Float(size)) }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {
        try reduceInPlace(buffer, datatype: cmpi_double(), op: op)
        if op == .mean {
            let factor = 1 / Double(size)
            for index in buffer.indices { buffer[index] *= factor }
        }
    }

    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws -> any AllreduceRequest {
        var requests: [MPI_Request?] = []
        var start = 0
        while start < buffer.count {
            let count = min(Self.maxChunk, buffer.count - start)
            var request: MPI_Request? = cmpi_request_null()
            try check("MPI_Iallreduce", MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress! + start, Int32(count),
                                                       cmpi_float(), mpiOp(op), world, &request))
            requests.append(request)
            start += count
        }
        return MPIAllreduceRequest(requests: requests, buffer: buffer, meanFactor: op == .mean ? 1 / Float(size) : nil, rank: rank)
    }

    public func reduceScatter(_ input: UnsafeBufferPointer<Float>, counts: [Int], into output: UnsafeMutableBufferPointer<Float>,
                              op: ReduceOp) throws {
        try validateSegments(counts, total: input.count, mine: output.count)
        let lengths = counts.map { Int32($0) }
        // MPI_Reduce_scatter's send and receive buffers must not overlap, hence the separate output.
        try check("MPI_Reduce_scatter", MPI_Reduce_scatter(input.baseAddress, output.baseAddress, lengths, cmpi_float(),
                                                           mpiOp(op), world))
        if op == .mean { scale(output, by: 1 / Float(size)) }
    }

    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        try validateSegments(counts, total: buffer.count)
        let lengths = counts.map { Int32($0) }
        let offsets = Self.segmentOffsets(counts).map { Int32($0) }
        try check("MPI_Allgatherv", MPI_Allgatherv(cmpi_in_place(), 0, cmpi_float(), buffer.baseAddress, lengths, offsets,
                                                   cmpi_float(), world))
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        var start = 0
        while start < buffer.count {
            let count = min(Self.maxChunk, buffer.count - start)
            try check("MPI_Bcast", MPI_Bcast(buffer.baseAddress! + start, Int32(count), cmpi_byte(), Int32(root), world))
            start += count
        }
        if buffer.count == 0 {
            // Still a collective: every rank must take part, even with nothing to send.
            var empty: UInt8 = 0
            try check("MPI_Bcast", MPI_Bcast(&empty, 0, cmpi_byte(), Int32(root), world))
        }
    }

    public func barrier() throws {
        try check("MPI_Barrier", MPI_Barrier(world))
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        fatalError("MPI_Abort returned")
    }

    // MARK: - helpers

    private func reduceInPlace<T>(_ buffer: UnsafeMutableBufferPointer<T>, datatype: MPI_Datatype?, op: ReduceOp) throws {
        var start = 0
        repeat {
            let count = min(Self.maxChunk, buffer.count - start)
            let base = buffer.baseAddress.map { UnsafeMutableRawPointer($0 + start) }
            try check("MPI_Allreduce", MPI_Allreduce(cmpi_in_place(), base, Int32(count), datatype, mpiOp(op), world))
            start += count
        } while start < buffer.count
    }

    private func mpiOp(_ op: ReduceOp) -> MPI_Op? {
        switch op {
        case .sum, .mean: return cmpi_op_sum()
        case .max: return cmpi_op_max()
        case .min: return cmpi_op_min()
        }
    }

    private func check(_ function: String, _ code: Int32) throws {
        try Self.check(function, code, rank: rank)
    }

    static func check(_ function: String, _ code: Int32, rank: Int) throws {
        guard code != cmpi_success() else { return }
        throw CommunicatorError.mpi(function: function, code: code, message: MPIEnvironment.errorString(code), rank: rank)
    }
}

/// Multiplies every element by `factor` (the mean's 1/size).
func scale(_ buffer: UnsafeMutableBufferPointer<Float>, by factor: Float) {
    guard let base = buffer.baseAddress else { return }
    for index in 0..<buffer.count { base[index] *= factor }
}

/// The requests of one nonblocking allreduce (one per chunk of at most 2^30 elements).
final class MPIAllreduceRequest: AllreduceRequest {
    private var requests: [MPI_Request?]
    private let buffer: UnsafeMutableBufferPointer<Float>
    private let meanFactor: Float?
    private let rank: Int
    private var done = false

    init(requests: [MPI_Request?], buffer: UnsafeMutableBufferPointer<Float>, meanFactor: Float?, rank: Int) {
        self.requests = requests
        self.buffer = buffer
        self.meanFactor = meanFactor
        self.rank = rank
    }

    @discardableResult
    func progress() throws -> Bool {
        guard !done else { return true }
        var complete = true
        for index in requests.indices {
            var flag: Int32 = 0
            try MPICommunicator.check("MPI_Test", MPI_Test(&requests[index], &flag, cmpi_status_ignore()), rank: rank)
            complete = complete && flag != 0
        }
        return complete
    }

    func wait() throws {
        guard !done else { return }
        for index in requests.indices {
            try MPICommunicator.check("MPI_Wait", MPI_Wait(&requests[index], cmpi_status_ignore()), rank: rank)
        }
        done = true
        if let factor = meanFactor { scale(buffer, by: factor) }
    }
}
