import Distributed
import Foundation

/// Runs a subcommand's body on this rank's communicator and ends MPI exactly once.
/// An error on one rank is printed with the rank's number; in a world of more than one rank the job is then
/// aborted, so that no other rank waits forever in a collective. With more than one rank every collective runs
/// under a watchdog (`--collective-timeout`), so a rank that stalls or vanishes without an error ends the job too.
func runOnRank(_ options: DistributedOptions, _ body: (any Communicator) throws -> Void) throws {
    var communicator: any Communicator
    do {
        communicator = try makeCommunicator(options.launcher)
    } catch {
        printError("l3rs: could not start the communicator: \(error)")
        throw ExitCodeError.failure
    }
    if communicator.size > 1 && options.collectiveTimeout > 0 {
        communicator = WatchedCommunicator(communicator, timeout: .milliseconds(Int64(options.collectiveTimeout * 1000)))
    }
    if let rank = options.debugStallRank {
        communicator = DebugStallCommunicator(communicator, rank: rank, phase: options.debugStallPhase)
    }
    do {
        try body(communicator)
    } catch {
        printError("l3rs: rank \(communicator.rank) of \(communicator.size): \(error)")
        if communicator.size > 1 { communicator.abort(code: 1) }
        MPIEnvironment.finalize()
        throw ExitCodeError.failure
    }
    MPIEnvironment.finalize()
}

/// Exit with a non-zero status after the message was already printed.
enum ExitCodeError: Error {
    case failure
}

/// Writes a line to standard error, unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a line to standard output and flushes, so lines of different ranks do not sit in buffers.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
