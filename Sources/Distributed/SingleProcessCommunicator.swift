#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The world of one rank: every collective is the identity. Lets the program run with no launcher.
public final class SingleProcessCommunicator: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }
    public var hostName: String { currentHostName() }
    public var implementationName: String { "single-process" }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {}
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {}
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws -> any AllreduceRequest {
        CompletedRequest()
    }
    public func reduceScatter(_ input: UnsafeBufferPointer<Float>, counts: [Int], into output: UnsafeMutableBufferPointer<Float>,
                              op: ReduceOp) throws {
        try validateSegments(counts, total: input.count, mine: output.count)
        _ = output.initialize(from: input)
    }
    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        try validateSegments(counts, total: buffer.count)
    }
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard root == 0 else { throw CommunicatorError.invalidArgument("broadcast root \(root) is not a rank of a world of size 1") }
    }
    public func barrier() throws {}
    public func abort(code: Int32) -> Never { exit(code) }
}

/// A request that finished when it was made.
final class CompletedRequest: AllreduceRequest {
    func wait() throws {}
    func progress() throws -> Bool { true }
}

/// The host name from gethostname(2).
func currentHostName() -> String {
    var name = [CChar](repeating: 0, count: 256)
    guard gethostname(&name, name.count - 1) == 0 else { return "unknown-host" }
    return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
