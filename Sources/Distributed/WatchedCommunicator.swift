#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A Communicator that runs every blocking collective of another one under a `CollectiveWatchdog`: when a
/// collective takes longer than the timeout, it prints which rank, which collective and which phase (step), and
/// aborts the whole job, so that a stalled or vanished peer ends the job with a message instead of a hang.
///
/// Collectives are called from the main thread only (MPI is initialised as MPI_THREAD_FUNNELED); the watchdog's
/// thread makes exactly one MPI call, MPI_Abort, after which the process is gone. Should the abort itself not
/// end the process within `abortGrace`, the process exits on its own; the launcher then ends the other ranks.
public final class WatchedCommunicator: Communicator {
    public let inner: any Communicator
    public let watchdog: CollectiveWatchdog

    /// - Parameters:
    ///   - inner: the communicator doing the work.
    ///   - timeout: the longest one collective may take before the job is aborted.
    ///   - abortGrace: how long MPI_Abort may take before the process exits by itself.
    public init(_ inner: any Communicator, timeout: Duration, abortGrace: Double = 15) {
        self.inner = inner
        let rank = inner.rank, size = inner.size
        let limit = Self.seconds(timeout)
        let aborter = Aborter(inner)
        watchdog = CollectiveWatchdog(timeout: timeout) { stall in
            let phase = stall.phase.isEmpty ? "" : " in \(stall.phase)"
            let text = "l3rs: rank \(rank) of \(size): collective \(stall.collective)\(phase) did not finish within "
                + String(format: "%g s (waited %.1f s)", limit, stall.seconds)
                + "; another rank has stopped, stalled or died. Aborting the job (--collective-timeout sets the limit).\n"
            FileHandle.standardError.write(Data(text.utf8))
            let backstop = Thread {
                Thread.sleep(forTimeInterval: abortGrace)
                _exit(1)
            }
            backstop.start()
            aborter.communicator.abort(code: 1)
        }
    }

    deinit { watchdog.stop() }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public var localRank: Int { inner.localRank }
    public var localSize: Int { inner.localSize }
    public var hostName: String { inner.hostName }
    public var implementationName: String { inner.implementationName }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {
        try watched("allreduce (\(op.rawValue)) of \(buffer.count) floats") { try inner.allreduce(buffer, op: op) }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {
        try watched("allreduce (\(op.rawValue)) of \(buffer.count) doubles") { try inner.allreduce(buffer, op: op) }
    }

    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws -> any AllreduceRequest {
        // Starting does not block; waiting does, so the wait is what is watched.
        let request = try inner.startAllreduce(buffer, op: op)
        return WatchedRequest(request, watchdog: watchdog,
                              name: "nonblocking allreduce (\(op.rawValue)) of \(buffer.count) floats (wait)")
    }

    public func reduceScatter(_ input: UnsafeBufferPointer<Float>, counts: [Int], into output: UnsafeMutableBufferPointer<Float>,
                              op: ReduceOp) throws {
        try watched("reduce-scatter (\(op.rawValue)) of \(input.count) floats") {
            try inner.reduceScatter(input, counts: counts, into: output, op: op)
        }
    }

    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        try watched("all-gather of \(buffer.count) floats") { try inner.allgather(buffer, counts: counts) }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        try watched("broadcast of \(buffer.count) bytes from rank \(root)") { try inner.broadcast(buffer, root: root) }
    }

    public func barrier() throws {
        try watched("barrier") { try inner.barrier() }
    }

    public func abort(code: Int32) -> Never {
        inner.abort(code: code)
    }

    public func enterPhase(_ phase: @autoclosure () -> String) {
        let text = phase()
        watchdog.setPhase(text)
        inner.enterPhase(text)
    }

    private func watched(_ name: @autoclosure () -> String, _ body: () throws -> Void) throws {
        watchdog.begin(name())
        defer { watchdog.end() }
        try body()
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// Hands the communicator to the watchdog's thread for its one call, abort. A communicator is not Sendable (its
/// collectives belong to the main thread); MPI_Abort is the exception, as it only ends the job.
final class Aborter: @unchecked Sendable {
    let communicator: any Communicator
    init(_ communicator: any Communicator) { self.communicator = communicator }
}

/// The wait of a nonblocking allreduce, under the watchdog.
final class WatchedRequest: AllreduceRequest {
    private let inner: any AllreduceRequest
    private let watchdog: CollectiveWatchdog
    private let name: String

    init(_ inner: any AllreduceRequest, watchdog: CollectiveWatchdog, name: String) {
        self.inner = inner
        self.watchdog = watchdog
        self.name = name
    }

    /// Not watched: it never blocks.
    func progress() throws -> Bool { try inner.progress() }

    func wait() throws {
        watchdog.begin(name)
        defer { watchdog.end() }
        try inner.wait()
    }
}
