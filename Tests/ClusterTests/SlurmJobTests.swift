import Foundation
import TestSupport
import XCTest

/// jobs/slurm/finetune.sbatch on a real one-node Slurm that the test starts (jobs/testing/slurm-harness.sh, which
/// installs Slurm, munge and PMIx first when they are missing and the test runs as root).
final class SlurmJobTests: XCTestCase {
    private var scratch: URL!
    private var environment: [String: String] = [:]

    override func setUpWithError() throws {
        scratch = try ClusterJob.scratchFolder("slurm")
        let started = Date()
        let result = try MPIRun.run(ClusterJob.script("jobs/testing/slurm-harness.sh"), ["start", scratch.path], timeout: 600)
        XCTAssertEqual(result.exitCode, 0, "could not start the test cluster\n\(result.transcript)")
        guard result.exitCode == 0 else { throw HarnessError(text: result.transcript) }
        print("Slurm: installed if needed and started in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        environment = ["SLURM_CONF": scratch.appendingPathComponent("slurm.conf").path,
                       "L3RS_BIN": MPIRun.l3rsExecutable, "L3RS_RUNS": scratch.appendingPathComponent("runs").path]
    }

    override func tearDownWithError() throws {
        guard let scratch else { return }
        let result = try MPIRun.run(ClusterJob.script("jobs/testing/slurm-harness.sh"), ["stop", scratch.path], timeout: 60)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        if result.exitCode == 0 { try? FileManager.default.removeItem(at: scratch) }
    }

    /// A short 2-task job under srun, then the same job under mpirun inside the allocation, then a job that is
    /// signalled mid-run: it checkpoints, requeues itself, resumes and ends with the uninterrupted run's hash.
    func testBatchScriptRunsAndAPreemptedJobRequeuesAndResumesToTheSameParameters() throws {
        let steps = 400
        // 1. Uninterrupted, srun --mpi=pmix.
        let reference = try submit(name: "reference", steps: steps)
        XCTAssertTrue(try waitForEnd(reference, timeout: 180), log(reference))
        let referenceLog = log(reference)
        XCTAssertTrue(referenceLog.contains("2 rank(s) on 1 node(s)"), referenceLog)
        XCTAssertTrue(referenceLog.contains("OPENBLAS_NUM_THREADS=1"), referenceLog)
        XCTAssertTrue(referenceLog.contains("2 rank(s) (mpi (Open MPI"), referenceLog)
        XCTAssertTrue(referenceLog.contains("exit status 0"), referenceLog)
        let referenceSummary = try String(contentsOf: runFolder("reference").appendingPathComponent("summary.txt"), encoding: .utf8)
        XCTAssertTrue(referenceSummary.hasPrefix("finished \(steps) steps"), referenceSummary)
        let referenceHash = try XCTUnwrap(ClusterJob.parameterHash(in: referenceSummary), referenceSummary)
        XCTAssertEqual(ClusterJob.parameterHash(in: referenceLog), referenceHash, referenceLog)

        // 2. The mpirun variant inside the allocation.
        let viaMpirun = try submit(name: "via-mpirun", steps: 60, extra: ["L3RS_LAUNCH": "mpirun"])
        XCTAssertTrue(try waitForEnd(viaMpirun, timeout: 120), log(viaMpirun))
        let mpirunLog = log(viaMpirun)
        XCTAssertTrue(mpirunLog.contains("launcher mpirun") && mpirunLog.contains("finished 60 steps"), mpirunLog)
        XCTAssertTrue(mpirunLog.contains("exit status 0"), mpirunLog)

        // 3. Preempted after its first checkpoint, requeued, resumed.
        let preempted = try submit(name: "preempted", steps: steps)
        let checkpoints = runFolder("preempted").appendingPathComponent("checkpoints")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline,
              !((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).contains(where: { $0.hasPrefix("step-") }) {
            usleep(100_000)
        }
        let signal = try slurm("scancel", ["--signal=TERM", "--batch", preempted])
        XCTAssertEqual(signal.exitCode, 0, signal.transcript)
        XCTAssertTrue(try waitForEnd(preempted, timeout: 240, restarts: 1), log(preempted))
        let preemptedLog = log(preempted)
        for expected in ["TERM received", "stop signal received: checkpoint of step", "exit status 75",
                         "requeueing job \(preempted)", "restart 1:", "resuming from step", "exit status 0"] {
            XCTAssertTrue(preemptedLog.contains(expected), "missing \"\(expected)\"\n\(preemptedLog)")
        }
        let summary = try String(contentsOf: runFolder("preempted").appendingPathComponent("summary.txt"), encoding: .utf8)
        XCTAssertEqual(ClusterJob.parameterHash(in: summary), referenceHash, "the resumed run ended elsewhere\n\(preemptedLog)")
        XCTAssertEqual(ClusterJob.parameterHash(in: preemptedLog), referenceHash, preemptedLog)
        if let delay = requeueDelay(preemptedLog) { print("Slurm requeue: the job started again \(Int(delay)) s after it stopped") }
    }

    // MARK: - helpers

    private struct HarnessError: Error { let text: String }

    private func runFolder(_ name: String) -> URL {
        scratch.appendingPathComponent("runs").appendingPathComponent(name)
    }

    private func slurm(_ command: String, _ arguments: [String], extra: [String: String] = [:]) throws -> LaunchResult {
        try MPIRun.run("/usr/bin/\(command)", arguments, timeout: 60, environment: environment.merging(extra) { $1 })
    }

    /// Submits the batch script with 2 tasks; returns the job id.
    private func submit(name: String, steps: Int, extra: [String: String] = [:]) throws -> String {
        let result = try slurm("sbatch", [
            "--parsable", "--nodes=1", "--ntasks=2", "--cpus-per-task=1", "--time=10",
            "--job-name=\(name)", "--chdir=\(MPIRun.repositoryRoot.path)",
            "--output=\(scratch.appendingPathComponent("job-\(name).out").path)",
            ClusterJob.script("jobs/slurm/finetune.sbatch"),
            "--data-directory", MPIRun.dataDirectory, "--steps", String(steps),
        ], extra: extra.merging(["L3RS_NAME": name]) { $1 })
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let id = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw HarnessError(text: "sbatch said: \(result.transcript)") }
        jobNames[id] = name
        return id
    }

    private var jobNames: [String: String] = [:]

    private func log(_ id: String) -> String {
        let name = jobNames[id] ?? id
        return (try? String(contentsOf: scratch.appendingPathComponent("job-\(name).out"), encoding: .utf8)) ?? "(no output yet)"
    }

    /// Waits until the job has ended for good (COMPLETED, FAILED, ...) after at least `restarts` requeues.
    private func waitForEnd(_ id: String, timeout: Double, restarts: Int = 0) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let final = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"]
        while Date() < deadline {
            let show = try slurm("scontrol", ["show", "job", id])
            let fields = show.standardOutput.split(whereSeparator: { $0 == " " || $0 == "\n" })
            let state = fields.first { $0.hasPrefix("JobState=") }?.dropFirst("JobState=".count) ?? ""
            let count = Int(fields.first { $0.hasPrefix("Restarts=") }?.dropFirst("Restarts=".count) ?? "0") ?? 0
            if final.contains(String(state)) && count >= restarts {
                XCTAssertEqual(String(state), "COMPLETED", "job \(id) ended \(state)\n\(show.standardOutput)")
                return true
            }
            usleep(500_000)
        }
        return false
    }

    /// Seconds from the stopped run's end to the requeued run's start, from the script's timestamps.
    private func requeueDelay(_ log: String) -> Double? {
        let lines = log.split(separator: "\n")
        guard let end = lines.first(where: { $0.contains("exit status 75") }),
              let start = lines.first(where: { $0.contains("restart 1:") }) else { return nil }
        let formatter = ISO8601DateFormatter()
        func time(_ line: Substring, after marker: String) -> Date? {
            guard let range = line.range(of: marker) else { return nil }
            return formatter.date(from: String(line[range.upperBound...].prefix(25)))
        }
        guard let stopped = time(end, after: " end "), let restarted = time(start, after: " start ") else { return nil }
        return restarted.timeIntervalSince(stopped)
    }
}
