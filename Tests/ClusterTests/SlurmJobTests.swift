import Foundation
import TestSupport
import XCTest

/// The batch scripts in jobs/slurm/ (finetune, meta-train, pipeline) on a real one-node Slurm that each test starts
/// (jobs/testing/slurm-harness.sh, which installs Slurm, munge and PMIx first when they are missing and the test runs
/// as root): submitted as written, stopped by TERM before the time limit, requeued, and ending as an uninterrupted
/// run ends. Every wait has a time limit, so a hang fails.
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

    /// jobs/slurm/finetune.sbatch: a short 2-task job under srun, then the same job under mpirun inside the
    /// allocation, then a job that is signalled mid-run: it checkpoints, requeues itself, resumes and ends with the
    /// uninterrupted run's hash.
    func testBatchScriptRunsAndAPreemptedJobRequeuesAndResumesToTheSameParameters() throws {
        let steps = 400
        let smoke = ClusterJob.smokeConfiguration
        let arguments = [smoke, "--data-directory", MPIRun.dataDirectory, "--steps", String(steps)]
        // 1. Uninterrupted, srun --mpi=pmix.
        let reference = try submit("finetune", name: "reference", arguments)
        XCTAssertTrue(try waitForEnd(reference, timeout: 180), log(reference))
        let referenceLog = log(reference)
        XCTAssertTrue(referenceLog.contains("l3rs finetune, 2 rank(s) on 1 node(s)"), referenceLog)
        XCTAssertTrue(referenceLog.contains("OPENBLAS_NUM_THREADS=1"), referenceLog)
        XCTAssertTrue(referenceLog.contains("2 rank(s) (mpi (Open MPI"), referenceLog)
        XCTAssertTrue(referenceLog.contains("exit status 0"), referenceLog)
        let referenceSummary = try String(contentsOf: runFolder("reference").appendingPathComponent("summary.txt"), encoding: .utf8)
        XCTAssertTrue(referenceSummary.hasPrefix("finished \(steps) steps"), referenceSummary)
        let referenceHash = try XCTUnwrap(ClusterJob.parameterHash(in: referenceSummary), referenceSummary)
        XCTAssertEqual(ClusterJob.parameterHash(in: referenceLog), referenceHash, referenceLog)

        // 2. The mpirun variant inside the allocation, the configuration from L3RS_CONFIG.
        let viaMpirun = try submit("finetune", name: "via-mpirun", ["--data-directory", MPIRun.dataDirectory, "--steps", "60"],
                                   extra: ["L3RS_LAUNCH": "mpirun", "L3RS_CONFIG": smoke])
        XCTAssertTrue(try waitForEnd(viaMpirun, timeout: 120), log(viaMpirun))
        let mpirunLog = log(viaMpirun)
        XCTAssertTrue(mpirunLog.contains("launcher mpirun") && mpirunLog.contains("finished 60 steps"), mpirunLog)
        XCTAssertTrue(mpirunLog.contains("exit status 0"), mpirunLog)

        // 3. Preempted after its first checkpoint, requeued, resumed.
        let preempted = try submit("finetune", name: "preempted", arguments)
        try preemptAndCheckTheRequeue(preempted, after: "preempted/checkpoints/step-", timeout: 240)
        let summary = try String(contentsOf: runFolder("preempted").appendingPathComponent("summary.txt"), encoding: .utf8)
        XCTAssertEqual(ClusterJob.parameterHash(in: summary), referenceHash, "the resumed run ended elsewhere\n\(log(preempted))")
        XCTAssertEqual(ClusterJob.parameterHash(in: log(preempted)), referenceHash, log(preempted))
    }

    /// jobs/slurm/finetune.sbatch at its time limit: Slurm itself sends TERM (--signal=B:TERM@50 with a one-minute
    /// limit), the run checkpoints before the limit and the job requeues itself; the test then cancels it.
    func testTimeLimitWarningCheckpointsAndRequeuesBeforeTheLimit() throws {
        let job = try submit("finetune", name: "time-limit",
                             [ClusterJob.smokeConfiguration, "--data-directory", MPIRun.dataDirectory,
                              "--steps", "1000000"],
                             options: ["--time=1", "--signal=B:TERM@50"])
        let deadline = Date().addingTimeInterval(150)
        while Date() < deadline, !log(job).contains("requeueing job \(job)") { usleep(500_000) }
        let text = log(job)
        _ = try slurm("scancel", [job])
        for expected in ["TERM received", "stop signal received: checkpoint of step", "exit status 75", "requeueing job \(job)"] {
            XCTAssertTrue(text.contains(expected), "missing \"\(expected)\"\n\(text)")
        }
        XCTAssertFalse(text.contains("DUE TO TIME LIMIT"), "the limit struck before the checkpoint\n\(text)")
    }

    /// jobs/slurm/meta-train.sbatch: an uninterrupted tiny meta-training, and the same job signalled after its first
    /// checkpoint, requeued and resumed: the same learned optimizer (φ hash).
    func testMetaTrainScriptIsRequeuedAndEndsWithTheUninterruptedRunsOptimizer() throws {
        let arguments = [ClusterJob.script("jobs/configs/meta-train-tiny.yaml"), "--data-directory", MPIRun.dataDirectory,
                         "--weights", MPIRun.dataDirectory + "/ccexam/mnist.pth", "--meta-steps", "12"]
        let reference = try submit("meta-train", name: "meta-reference", arguments)
        XCTAssertTrue(try waitForEnd(reference, timeout: 300), log(reference))
        XCTAssertTrue(log(reference).contains("l3rs meta-train, 2 rank(s)") && log(reference).contains("exit status 0"), log(reference))
        let referenceHash = try XCTUnwrap(metaParameterHash(runFolder("meta-reference")), log(reference))

        let preempted = try submit("meta-train", name: "meta-preempted", arguments)
        try preemptAndCheckTheRequeue(preempted, after: "meta-preempted/checkpoints/step-", timeout: 300, resumed: "resuming from meta-step")
        XCTAssertEqual(try metaParameterHash(runFolder("meta-preempted")), referenceHash, log(preempted))
    }

    /// jobs/slurm/pipeline.sbatch: a tiny pipeline uninterrupted, and the same pipeline signalled after its first
    /// stage, requeued and resumed (complete stages skipped): every stage ends with the same parameters.
    func testPipelineScriptIsRequeuedAndEveryStageEndsAsInTheUninterruptedRun() throws {
        let arguments = [ClusterJob.script("jobs/configs/pipeline-tiny.yaml"), "--data-directory", MPIRun.dataDirectory]
        let reference = try submit("pipeline", name: "pipeline-reference", arguments)
        XCTAssertTrue(try waitForEnd(reference, timeout: 600), log(reference))
        XCTAssertTrue(log(reference).contains("l3rs pipeline, 2 rank(s)") && log(reference).contains("exit status 0"), log(reference))
        let referenceHashes = try stageHashes(runFolder("pipeline-reference"))
        XCTAssertGreaterThanOrEqual(referenceHashes.count, 10, "\(referenceHashes)")

        let preempted = try submit("pipeline", name: "pipeline-preempted", arguments)
        try preemptAndCheckTheRequeue(preempted, after: "pipeline-preempted/pretrain/summary.txt", timeout: 600,
                                      resumed: "complete, skipped")
        XCTAssertTrue(FileManager.default.fileExists(atPath: runFolder("pipeline-preempted").appendingPathComponent("report.md").path))
        XCTAssertEqual(try stageHashes(runFolder("pipeline-preempted")), referenceHashes, log(preempted))
    }

    // MARK: - helpers

    private struct HarnessError: Error { let text: String }

    private func runFolder(_ name: String) -> URL {
        scratch.appendingPathComponent("runs").appendingPathComponent(name)
    }

    private func slurm(_ command: String, _ arguments: [String], extra: [String: String] = [:]) throws -> LaunchResult {
        try MPIRun.run("/usr/bin/\(command)", arguments, timeout: 60, environment: environment.merging(extra) { $1 })
    }

    /// Submits jobs/slurm/SCRIPT.sbatch with 2 tasks (the shape from sbatch's flags only, as a user gives it) and
    /// `arguments` after the script; returns the job id.
    private func submit(_ script: String, name: String, _ arguments: [String], extra: [String: String] = [:],
                        options: [String] = ["--time=10"]) throws -> String {
        let result = try slurm("sbatch", [
            "--parsable", "--nodes=1", "--ntasks=2", "--cpus-per-task=1",
            "--job-name=\(name)", "--chdir=\(MPIRun.repositoryRoot.path)",
            "--output=\(scratch.appendingPathComponent("job-\(name).out").path)",
        ] + options + [ClusterJob.script("jobs/slurm/\(script).sbatch")] + arguments, extra: extra.merging(["L3RS_NAME": name]) { $1 })
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let id = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw HarnessError(text: "sbatch said: \(result.transcript)") }
        jobNames[id] = name
        return id
    }

    /// Waits until `marker` (a path under the runs folder, or the prefix of a file name in its folder) exists, sends
    /// the batch shell TERM as Slurm does before the time limit, and checks that the job checkpointed, requeued
    /// itself, resumed (`resumed` in its log) and completed.
    private func preemptAndCheckTheRequeue(_ id: String, after marker: String, timeout: Double,
                                           resumed: String = "resuming from step") throws {
        let path = scratch.appendingPathComponent("runs").appendingPathComponent(marker)
        let folder = path.deletingLastPathComponent().path, prefix = path.lastPathComponent
        let deadline = Date().addingTimeInterval(timeout / 2)
        while Date() < deadline,
              !((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains(where: { $0.hasPrefix(prefix) }) {
            usleep(100_000)
        }
        let signal = try slurm("scancel", ["--signal=TERM", "--batch", id])
        XCTAssertEqual(signal.exitCode, 0, signal.transcript)
        XCTAssertTrue(try waitForEnd(id, timeout: timeout, restarts: 1), log(id))
        let text = log(id)
        for expected in ["TERM received", "exit status 75", "requeueing job \(id)", "restart 1:", resumed, "exit status 0"] {
            XCTAssertTrue(text.contains(expected), "missing \"\(expected)\"\n\(text)")
        }
        if let delay = requeueDelay(text) { print("Slurm requeue: the job started again \(Int(delay)) s after it stopped") }
    }

    /// The φ hash in a meta-training run's summary.txt ("... (φ hash 0123456789abcdef)").
    private func metaParameterHash(_ run: URL) throws -> String? {
        let text = try String(contentsOf: run.appendingPathComponent("summary.txt"), encoding: .utf8)
        guard let range = text.range(of: "φ hash ") else { return nil }
        return String(text[range.upperBound...].prefix(16))
    }

    /// Every stage of a pipeline (a folder with a summary.txt) and the hash its summary ends with.
    private func stageHashes(_ pipeline: URL) throws -> [String: String] {
        var hashes: [String: String] = [:]
        let files = FileManager.default.enumerator(atPath: pipeline.path)
        while let file = files?.nextObject() as? String {
            guard file.hasSuffix("/summary.txt") else { continue }
            let url = pipeline.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8)
            hashes[file] = try ClusterJob.parameterHash(in: text) ?? metaParameterHash(url.deletingLastPathComponent()) ?? "none: \(text)"
        }
        return hashes
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
