import ArgumentParser
import Distributed
import Foundation
import Kernels
import Runs
import Training

/// Runs a subcommand's body on this rank's communicator and ends MPI exactly once.
/// An error on one rank is printed with the rank's number; in a world of more than one rank the job is then
/// aborted, so that no other rank waits forever in a collective. With more than one rank every collective runs
/// under a watchdog (`--collective-timeout`), so a rank that stalls or vanishes without an error ends the job too.
/// A `CollectiveFailure` (divergence, a locked or changed run) is raised by every rank at the same point: rank 0
/// prints it once and every rank exits with its status, without an abort.
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
    } catch let failure as any CollectiveFailure {
        if communicator.isRoot { printError("l3rs: \(failure)") }
        MPIEnvironment.finalize()
        throw ExitCodeError.status(failure.exitStatus)
    } catch {
        printError("l3rs: rank \(communicator.rank) of \(communicator.size): \(error)")
        if communicator.size > 1 { communicator.abort(code: 1) }
        MPIEnvironment.finalize()
        throw ExitCodeError.failure
    }
    MPIEnvironment.finalize()
}

/// Runs a long job (fine-tuning, meta-training, the pipeline) on this rank: installs the stop-signal handlers,
/// prints the banner and the resolved configuration once on rank 0, and maps the outcome to the documented
/// exit status: 0 finished, 1 error, 65 diverged (`DivergenceError`), `StopSignal.exitCode` (75) stopped after
/// a checkpoint. (64, a bad option or configuration, is ArgumentParser's, before this runs.)
/// - Parameter body: runs the job; returns true when a stop signal ended it early.
func runStoppableJob(_ title: String, configurationYAML: @escaping () throws -> String, distributed: DistributedOptions,
                     _ body: (any Communicator) throws -> Bool) throws {
    StopSignal.install()
    var stopped = false
    do {
        try runOnRank(distributed) { communicator in
            if communicator.isRoot {
                printLine("l3rs \(L3RSVersion.string) \(title): \(communicator.size) rank(s) (\(communicator.implementationName)), BLAS \(BLASInfo.coreName), \(ComputeThreads.count) thread(s) per rank")
                printLine("configuration:\n" + (try configurationYAML()).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
            stopped = try body(communicator)
        }
    } catch ExitCodeError.failure {
        throw ExitCode.failure
    } catch let ExitCodeError.status(status) {
        throw ExitCode(status)
    }
    if stopped { throw ExitCode(StopSignal.exitCode) }
}

/// Exit with a non-zero status after the message was already printed.
enum ExitCodeError: Error {
    case failure
    case status(Int32)
}

/// Writes a line to standard error, unbuffered.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a line to standard output and flushes, so lines of different ranks do not sit in buffers.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
