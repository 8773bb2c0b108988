import Foundation
import TestSupport
import XCTest

/// Failures end the whole job, quickly and with a message: a rank killed with SIGKILL, and a rank that stalls
/// (the collective watchdog).
final class FailureTests: XCTestCase {
    /// kill -9 of one rank mid-run: mpirun ends the other rank and exits non-zero within 30 s, naming the rank.
    func testKillingOneRankEndsTheJobWithin30Seconds() throws {
        let runs = try ClusterJob.scratchFolder("kill9")
        defer { try? FileManager.default.removeItem(at: runs) }
        var arguments = ["-np", "2", "--oversubscribe", "--bind-to", "none", "-x", "OPENBLAS_NUM_THREADS=1"]
        if getuid() == 0 { arguments.append("--allow-run-as-root") }
        let job = try BackgroundProcess("/usr/bin/mpirun", arguments + [MPIRun.l3rsExecutable]
                                        + ClusterJob.finetuneArguments(name: "kill9", runs: runs, steps: 100_000))
        // Mid-run: the first checkpoint (step 50) exists.
        let checkpoints = runs.appendingPathComponent("kill9/checkpoints")
        let training = job.wait(timeout: 90) {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).contains { $0.hasPrefix("step-") }
        }
        XCTAssertTrue(training, "the job did not reach its first checkpoint\n\(job.output)")
        let ranks = job.childProcessIDs
        XCTAssertEqual(ranks.count, 2, "expected mpirun's two ranks as its children, found \(ranks)")
        guard let victim = ranks.last else { _ = job.finish(timeout: 1); return }
        let killed = Date()
        kill(victim, SIGKILL)
        let status = job.finish(timeout: 30)
        let seconds = Date().timeIntervalSince(killed)
        print("kill -9 of one rank: the job ended \(String(format: "%.2f", seconds)) s later with status \(status.map(String.init) ?? "none (hung)")")
        XCTAssertNotNil(status, "the job hung after a rank was killed\n\(job.output)")
        XCTAssertNotEqual(status, 0, job.output)
        XCTAssertLessThan(seconds, 30)
        // Open MPI 4.1 names the rank but prints "PID 0" for it.
        XCTAssertTrue(job.output.contains("mpirun noticed that process rank") && job.output.contains("exited on signal 9"),
                      "mpirun's message does not name the killed rank and its signal\n\(job.output)")
    }

    /// A rank that stops taking part in collectives: the other rank's watchdog reports the collective and the step
    /// and aborts the job.
    func testCollectiveTimeoutNamesTheCollectiveAndTheStep() throws {
        let runs = try ClusterJob.scratchFolder("stall")
        defer { try? FileManager.default.removeItem(at: runs) }
        let result = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable]
                                       + ClusterJob.finetuneArguments(name: "stall", runs: runs, steps: 100)
                                       + ["--collective-timeout", "3", "--debug-stall-rank", "1", "--debug-stall-phase", "step 5"],
                                       timeout: 90)
        print("stalled rank: the job ended after \(String(format: "%.1f", result.seconds)) s")
        XCTAssertFalse(result.timedOut, "the job hung\n\(result.transcript)")
        XCTAssertNotEqual(result.exitCode, 0, result.transcript)
        XCTAssertLessThan(result.seconds, 60, result.transcript)
        // (Rank 1's own "stalling on purpose" line may be lost: the abort can kill it before mpirun forwards it.)
        XCTAssertTrue(result.standardError.contains("l3rs: rank 0 of 2: collective nonblocking allreduce (mean)"), result.transcript)
        XCTAssertTrue(result.standardError.contains("in step 5 did not finish within 3 s"), result.transcript)
        // Our own line says the job is aborted (mpirun's own MPI_ABORT banner is not asserted: under load Open MPI
        // sometimes fails to print it, "ORTE_ERROR_LOG: Out of resource in show_help.c").
        XCTAssertTrue(result.standardError.contains("Aborting the job"), result.transcript)
    }
}
