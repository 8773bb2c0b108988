import Distributed
import Foundation

/// A hidden test aid: on one rank, stops taking part in collectives from the first collective of a given phase
/// on, and sleeps instead, the way a rank stuck in a file system or a swapped-out node looks to its peers. The
/// other ranks block in that collective until their `--collective-timeout` fires. It wraps the watched
/// communicator, so the stalled rank's own watchdog sees no collective in flight and the report comes from a
/// peer, as it would in a real stall.
final class DebugStallCommunicator: Communicator {
    private let inner: any Communicator
    private let stallRank: Int
    private let stallPhase: String
    private var phase = ""

    init(_ inner: any Communicator, rank: Int, phase: String) {
        self.inner = inner
        stallRank = rank
        stallPhase = phase
    }

    var rank: Int { inner.rank }
    var size: Int { inner.size }
    var localRank: Int { inner.localRank }
    var localSize: Int { inner.localSize }
    var hostName: String { inner.hostName }
    var implementationName: String { inner.implementationName }

    func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {
        stallIfAsked()
        try inner.allreduce(buffer, op: op)
    }

    func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {
        stallIfAsked()
        try inner.allreduce(buffer, op: op)
    }

    func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws -> any AllreduceRequest {
        stallIfAsked()
        return try inner.startAllreduce(buffer, op: op)
    }

    func reduceScatter(_ input: UnsafeBufferPointer<Float>, counts: [Int], into output: UnsafeMutableBufferPointer<Float>,
                       op: ReduceOp) throws {
        stallIfAsked()
        try inner.reduceScatter(input, counts: counts, into: output, op: op)
    }

    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        stallIfAsked()
        try inner.allgather(buffer, counts: counts)
    }

    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        stallIfAsked()
        try inner.broadcast(buffer, root: root)
    }

    func barrier() throws {
        stallIfAsked()
        try inner.barrier()
    }

    func abort(code: Int32) -> Never { inner.abort(code: code) }

    func enterPhase(_ phase: @autoclosure () -> String) {
        let text = phase()
        self.phase = text
        inner.enterPhase(text)
    }

    private func stallIfAsked() {
        guard rank == stallRank, phase == stallPhase else { return }
        printError("l3rs: rank \(rank): stalling on purpose in \(phase) (--debug-stall-rank)")
        while true { Thread.sleep(forTimeInterval: 3600) }
    }
}
