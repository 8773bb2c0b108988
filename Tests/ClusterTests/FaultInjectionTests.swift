import Foundation
import TestSupport
import XCTest

/// Faults a cluster user meets, injected into real 2-rank mpirun jobs of the l3rs executable (each with a time
/// limit): a damaged checkpoint, a second job on the same run, divergence, a resume with another configuration,
/// NaN weights, TERM to the job script, and a full disk. Each must end with the documented exit status and a message that
/// names the file, tensor or flag, and lose nothing earlier.
final class FaultInjectionTests: XCTestCase {
    private var runs: URL!

    override func setUpWithError() throws { runs = try ClusterJob.scratchFolder("faults") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: runs) }

    private func job(_ name: String, steps: Int, _ extra: [String] = [], timeout: Double = 120) throws -> LaunchResult {
        try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + ClusterJob.finetuneArguments(name: name, runs: runs, steps: steps) + extra,
                          timeout: timeout)
    }

    /// A long 2-rank job under mpirun in the background, to signal or collide with.
    private func backgroundJob(_ name: String) throws -> BackgroundProcess {
        var arguments = ["-np", "2", "--oversubscribe", "--bind-to", "none", "-x", "OPENBLAS_NUM_THREADS=1"]
        if getuid() == 0 { arguments.append("--allow-run-as-root") }
        return try BackgroundProcess("/usr/bin/mpirun", arguments + [MPIRun.l3rsExecutable]
                                     + ClusterJob.finetuneArguments(name: name, runs: runs, steps: 100_000))
    }

    /// A job whose ranks may write no file larger than `blocks` 512-byte blocks (`ulimit -f`, RLIMIT_FSIZE): a
    /// full disk without privileges. The limit is set in each rank, not in mpirun, whose PMIx shared-memory store
    /// exceeds it, and the ranks talk over TCP, as Open MPI's shared-memory transport's backing file exceeds it
    /// too. With `ignoreSignal` SIGXFSZ is ignored, so an over-long write fails with EFBIG, as a write to a full
    /// disk fails with ENOSPC.
    private func jobWithFileSizeLimit(_ name: String, steps: Int, blocks: Int, ignoreSignal: Bool) throws -> LaunchResult {
        let limit = (ignoreSignal ? "trap '' XFSZ; " : "") + "ulimit -f \(blocks) && exec \"$@\""
        return try MPIRun.launch(ranks: 2, ["--mca", "btl", "self,tcp", "/bin/sh", "-c", limit, "sh", MPIRun.l3rsExecutable]
                                 + ClusterJob.finetuneArguments(name: name, runs: runs, steps: steps) + ["--resume", "auto"],
                                 timeout: 120)
    }

    /// The 150-step run "whole" that the resumed run `name` must end like, and the first 100 steps of `name`
    /// (checkpoints at 50 and 100).
    private func uninterruptedRunAndFirstHundredSteps(of name: String) throws {
        let whole = try job("whole", steps: 150)
        XCTAssertEqual(whole.exitCode, 0, whole.transcript)
        let first = try job(name, steps: 100)
        XCTAssertEqual(first.exitCode, 0, first.transcript)
    }

    private func text(_ path: String) throws -> String {
        try String(contentsOf: runs.appendingPathComponent(path), encoding: .utf8)
    }

    /// The lines of stderr that are l3rs's own (mpirun adds none when no rank aborts).
    private func ownLines(_ result: LaunchResult) -> [Substring] {
        result.standardError.split(separator: "\n").filter { $0.hasPrefix("l3rs: ") }
    }

    /// A flipped byte in the newest checkpoint's tensor data: the resume names the file and tensor, falls back to
    /// the checkpoint before, and ends at the parameters of a run never interrupted.
    func testDamagedCheckpointIsSkippedForThePreviousOne() throws {
        try uninterruptedRunAndFirstHundredSteps(of: "damaged")
        let model = runs.appendingPathComponent("damaged/checkpoints/step-00000100/model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: model))
        bytes[bytes.count - 3] ^= 0x10  // inside the last tensor's data
        try Data(bytes).write(to: model)

        let resumed = try job("damaged", steps: 150, ["--resume", "auto"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.transcript)
        XCTAssertTrue(resumed.standardOutput.contains("warning: checkpoint \(runs.path)/damaged/checkpoints/step-00000100 is damaged")
                      && resumed.standardOutput.contains("model.safetensors: tensor") && resumed.standardOutput.contains("CRC-32 mismatch"),
                      resumed.transcript)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from step 50"), resumed.transcript)
        XCTAssertEqual(ClusterJob.parameterHash(in: try text("damaged/summary.txt")),
                       ClusterJob.parameterHash(in: try text("whole/summary.txt")))
    }

    /// A rank whose node sees another run folder than rank 0's (its own disk, not the shared file system) stops
    /// every rank of a resume within seconds, with exit 1, no abort, and one line from rank 0 naming the rank,
    /// its host, the checkpoint it could not read and the remedy: rank 1's folder empty, a copy whose checkpoint is
    /// damaged there, a copy with a newer checkpoint, a copy of another run at the same step (other values, found
    /// by the content hash), and rank 0's folder the empty one. A faithful copy (the run folder staged to the
    /// node) resumes and ends where an uninterrupted run ends.
    func testRankThatCannotReadTheResumedCheckpointStopsEveryRankAtOnce() throws {
        let whole = try job("whole", steps: 40)
        XCTAssertEqual(whole.exitCode, 0, whole.transcript)
        let first = try job("staged", steps: 20)
        XCTAssertEqual(first.exitCode, 0, first.transcript)
        let metrics = try text("staged/metrics.jsonl")
        let own = try ClusterJob.scratchFolder("own-runs")
        defer { try? FileManager.default.removeItem(at: own) }
        let checkpoint = own.appendingPathComponent("staged/checkpoints/step-00000020")
        func resume() throws -> LaunchResult {
            try MPIRun.launch(ranks: 2, ClusterJob.replacingPath(runs.path, with: own.path, where: #"[ "$OMPI_COMM_WORLD_RANK" = 1 ]"#)
                              + [MPIRun.l3rsExecutable] + ClusterJob.finetuneArguments(name: "staged", runs: runs, steps: 40)
                              + ["--resume", "auto"], timeout: 90)
        }
        func assertEveryRankStopped(_ result: LaunchResult, _ problem: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertEqual(result.exitCode, 1, result.transcript, file: file, line: line)
            XCTAssertLessThan(result.seconds, 30, "the job must stop at once, not at the collective timeout\n\(result.transcript)", file: file, line: line)
            let lines = ownLines(result)
            XCTAssertEqual(lines.count, 1, result.transcript, file: file, line: line)
            let message = String(lines.first ?? "")
            print("rank 1 without the checkpoint: status \(result.exitCode.map(String.init) ?? "none") after "
                  + String(format: "%.1f s", result.seconds) + ": \(message)")
            for part in ["l3rs: cannot resume: rank 1 on host ", " cannot read \(checkpoint.path): rank 0 resumes from step 20",
                         "put runs/ on a file system all nodes share, or copy the run folder to every node", "docs/clusters.md"] + problem {
                XCTAssertTrue(message.contains(part), "missing \"\(part)\"\n\(result.transcript)", file: file, line: line)
            }
            XCTAssertFalse(result.standardError.contains("MPI_ABORT"), "every rank stops by itself\n\(result.transcript)", file: file, line: line)
            XCTAssertFalse(result.standardOutput.contains("resuming from step"), result.transcript, file: file, line: line)
            XCTAssertEqual(try text("staged/metrics.jsonl"), metrics, "nothing trained", file: file, line: line)
        }

        try assertEveryRankStopped(try resume(), ["this rank has no complete checkpoint of that step (it sees no checkpoint at all)"])

        try FileManager.default.copyItem(at: runs.appendingPathComponent("staged"), to: own.appendingPathComponent("staged"))
        let model = checkpoint.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: model))
        bytes[bytes.count - 3] ^= 0x10
        try Data(bytes).write(to: model)
        try assertEveryRankStopped(try resume(), ["which fails its checks on this rank", "model.safetensors: tensor", "CRC-32 mismatch"])

        // An older or newer copy: rank 1's newest checkpoint is another step than rank 0's.
        try FileManager.default.removeItem(at: own.appendingPathComponent("staged"))
        try FileManager.default.copyItem(at: runs.appendingPathComponent("staged"), to: own.appendingPathComponent("staged"))
        try FileManager.default.copyItem(at: checkpoint, to: own.appendingPathComponent("staged/checkpoints/step-00000030"))
        try assertEveryRankStopped(try resume(), ["(its newest complete checkpoint is step 20), but this rank's newest is step 30"])

        // The same job on one rank reaches step 20 with other rounding (and another world size in its state).
        try FileManager.default.removeItem(at: own.appendingPathComponent("staged"))
        let oneRank = try MPIRun.run(MPIRun.l3rsExecutable, ClusterJob.finetuneArguments(name: "staged", runs: own, steps: 20),
                                     timeout: 120, environment: ["OPENBLAS_NUM_THREADS": "1"])
        XCTAssertEqual(oneRank.exitCode, 0, oneRank.transcript)
        try assertEveryRankStopped(try resume(), ["this rank's copy of it holds other values (content hash "])

        // Rank 0's folder is the one without the checkpoint: rank 0 is named, with what rank 1 sees.
        try FileManager.default.moveItem(at: runs.appendingPathComponent("staged"), to: runs.appendingPathComponent("aside"))
        let rankZeroWithout = try resume()
        XCTAssertEqual(rankZeroWithout.exitCode, 1, rankZeroWithout.transcript)
        XCTAssertLessThan(rankZeroWithout.seconds, 30, rankZeroWithout.transcript)
        XCTAssertEqual(ownLines(rankZeroWithout).count, 1, rankZeroWithout.transcript)
        XCTAssertTrue(ownLines(rankZeroWithout).first?.contains("cannot resume: rank 0 on host ") == true
                      && ownLines(rankZeroWithout).first?.contains(" cannot read \(runs.path)/staged/checkpoints: rank 0 finds no checkpoint to resume from "
                                                                 + "and would start afresh, but rank 1 on host ") == true
                      && ownLines(rankZeroWithout).first?.contains(" sees the checkpoint of step 20 (\(checkpoint.path))") == true,
                      rankZeroWithout.transcript)
        try FileManager.default.removeItem(at: runs.appendingPathComponent("staged"))
        try FileManager.default.moveItem(at: runs.appendingPathComponent("aside"), to: runs.appendingPathComponent("staged"))

        try FileManager.default.removeItem(at: own.appendingPathComponent("staged"))
        try FileManager.default.copyItem(at: runs.appendingPathComponent("staged"), to: own.appendingPathComponent("staged"))
        let staged = try resume()
        XCTAssertEqual(staged.exitCode, 0, staged.transcript)
        XCTAssertTrue(staged.standardOutput.contains("resuming from step 20"), staged.transcript)
        XCTAssertEqual(ClusterJob.parameterHash(in: try text("staged/summary.txt")),
                       ClusterJob.parameterHash(in: try text("whole/summary.txt")))
    }

    /// A second job on a run that is running refuses at once with one line naming the holder; the first job is
    /// untouched and its metrics stay one JSON object per line.
    func testSecondJobOnARunningRunIsRefused() throws {
        let first = try backgroundJob("shared")
        let metrics = runs.appendingPathComponent("shared/metrics.jsonl")
        XCTAssertTrue(first.wait(timeout: 90) { ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").count > 0 },
                      first.output)
        let second = try job("shared", steps: 100, ["--resume", "auto"], timeout: 60)
        XCTAssertEqual(second.exitCode, 1, second.transcript)
        let lines = ownLines(second)
        XCTAssertEqual(lines.count, 1, second.transcript)
        XCTAssertTrue(lines.first?.contains("shared/run.lock: the run is in use by") == true, second.transcript)
        XCTAssertFalse(second.standardError.contains("MPI_ABORT"), "the refusal needs no abort\n\(second.transcript)")
        XCTAssertTrue(first.process.isRunning, "the first job must keep running\n\(first.output)")

        kill(first.process.processIdentifier, SIGUSR1)
        XCTAssertEqual(first.finish(timeout: 60), 75, first.output)
        for line in try text("shared/metrics.jsonl").split(separator: "\n") {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), String(line))
        }
    }

    /// A resume with another learning rate is refused listing the difference (a longer run is not a change);
    /// with --allow-changed-configuration it goes on, records the change, and at this learning rate diverges:
    /// exit 65, the skipped steps shown, and the last good checkpoint kept.
    func testChangedConfigurationIsRefusedAndDivergenceStopsKeepingTheLastCheckpoint() throws {
        let first = try job("changed", steps: 50, ["--optimizer", "sgd", "--learning-rate", "0.01"])
        XCTAssertEqual(first.exitCode, 0, first.transcript)
        let configuration = try text("changed/config.yaml")

        let refused = try job("changed", steps: 100, ["--resume", "auto", "--optimizer", "sgd", "--learning-rate", "1e6", "--seed", "8"])
        XCTAssertEqual(refused.exitCode, 1, refused.transcript)
        let lines = ownLines(refused)
        XCTAssertEqual(lines.count, 1, refused.transcript)
        let line = String(lines.first ?? "")
        XCTAssertTrue(line.contains("learningRate: was 0.01, now 1000000") && line.contains("seed: was 7, now 8")
                      && !line.contains("steps:") && line.contains("--allow-changed-configuration"), refused.transcript)
        XCTAssertEqual(try text("changed/config.yaml"), configuration, "a refused resume leaves the run's record alone")

        // SGD at 1e6 overflows within a few steps (Adam's normalised steps stay finite).
        let diverged = try job("changed", steps: 100, ["--resume", "auto", "--optimizer", "sgd", "--learning-rate", "1e6",
                                                       "--allow-changed-configuration", "--max-non-finite-steps", "3"])
        XCTAssertEqual(diverged.exitCode, 65, diverged.transcript)
        XCTAssertTrue(diverged.standardOutput.contains("non-finite loss or gradient, update skipped"), diverged.transcript)
        let stop = ownLines(diverged)
        XCTAssertEqual(stop.count, 1, diverged.transcript)
        XCTAssertTrue(stop.first?.contains("diverged: 3 consecutive steps") == true
                      && stop.first?.contains("the last good checkpoint is \(runs.path)/changed/checkpoints/step-00000050") == true,
                      diverged.transcript)
        XCTAssertTrue(try text("changed/configuration-changes.log").contains("learningRate: was 0.01, now 1000000"))
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: runs.appendingPathComponent("changed/checkpoints").path)
        XCTAssertEqual(checkpoints, ["step-00000050"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: runs.appendingPathComponent("changed/checkpoints/step-00000050/COMPLETE").path))
    }

    /// Weights with a NaN are refused before training, naming the file and the tensor.
    func testNaNWeightsAreRefusedNamingTheTensor() throws {
        let first = try job("source", steps: 1)
        XCTAssertEqual(first.exitCode, 0, first.transcript)
        let weights = runs.appendingPathComponent("nan.safetensors")
        var bytes = [UInt8](try Data(contentsOf: runs.appendingPathComponent("source/final.safetensors")))
        bytes.replaceSubrange((bytes.count - 4)..<bytes.count, with: [0x00, 0x00, 0xC0, 0x7F])  // the last float: NaN
        try Data(bytes).write(to: weights)
        let refused = try job("nan", steps: 10, ["--weights", weights.path, "--head", "keep"], timeout: 60)
        // Found by the checks that run before anything starts: a bad input file, exit status 64 (README).
        XCTAssertEqual(refused.exitCode, 64, refused.transcript)
        XCTAssertTrue(refused.standardError.contains("\(weights.path): tensor ") && refused.standardError.contains("holds 1 NaN or infinite value(s)"),
                      refused.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs.appendingPathComponent("nan/metrics.jsonl").path))
    }

    /// TERM to the mpirun job script (what a scheduler sends): the script asks the ranks to stop through mpirun
    /// with USR1, they checkpoint, and the script exits 75.
    func testTERMToTheMpirunScriptCheckpointsAndExits75() throws {
        let script = try BackgroundProcess(ClusterJob.script("jobs/mpirun/finetune.sh"),
                                           [ClusterJob.smokeConfiguration, "--data-directory", MPIRun.dataDirectory, "--steps", "100000"],
                                           environment: ["RANKS": "2", "HOSTFILE": "hostfiles/single-node", "L3RS_BIN": MPIRun.l3rsExecutable,
                                                         "L3RS_RUNS": runs.path, "L3RS_NAME": "term", "MPIRUN_FLAGS": "--oversubscribe"])
        let metrics = runs.appendingPathComponent("term/metrics.jsonl")
        XCTAssertTrue(script.wait(timeout: 90) { ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").count > 0 },
                      script.output)
        kill(script.process.processIdentifier, SIGTERM)
        XCTAssertEqual(script.finish(timeout: 60), 75, script.output)
        XCTAssertTrue(script.output.contains("stop signal received: checkpoint of step"), script.output)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: runs.appendingPathComponent("term/checkpoints").path)
        XCTAssertFalse(checkpoints.isEmpty)
        for folder in checkpoints {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runs.appendingPathComponent("term/checkpoints/\(folder)/COMPLETE").path), folder)
        }
    }

    /// TERM to a bare mpirun (no script): Open MPI 4.1 passes TERM to the ranks, kills them a second later and
    /// exits 1 (README says so; the scripts trap TERM for this reason). Nothing earlier is lost: the run resumes.
    func testTERMToBareMpirunEndsTheJobAndTheRunResumes() throws {
        let launcher = try backgroundJob("bare")
        let first = runs.appendingPathComponent("bare/checkpoints/step-00000050/COMPLETE")
        XCTAssertTrue(launcher.wait(timeout: 90) { FileManager.default.fileExists(atPath: first.path) }, launcher.output)
        kill(launcher.process.processIdentifier, SIGTERM)
        let status = launcher.finish(timeout: 30)
        XCTAssertNotNil(status, "mpirun hung after TERM\n\(launcher.output)")
        XCTAssertNotEqual(status, 0, launcher.output)
        let resumed = try job("bare", steps: 300, ["--resume", "auto"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.transcript)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from step"), resumed.transcript)
        XCTAssertTrue(try text("bare/summary.txt").hasPrefix("finished 300 steps"))
    }

    /// A disk that fills while the checkpoint of step 150 is written loses nothing earlier. The limit (2,000
    /// blocks, 1,024,000 bytes) lets model.safetensors (942 kB) through and stops trainer-state.safetensors
    /// (1.9 MB); the logs stay far below it. Observed with Open MPI 4.1: by default SIGXFSZ kills rank 0 mid-write
    /// ("exited on signal 25 (File size limit exceeded)", mpirun exits 128+25), leaving the temporary file in
    /// the step folder; with the signal ignored the write fails with EFBIG and rank 0 stops with one line naming
    /// the file and the reason, exit 1. Either way the step folder has no COMPLETE marker, the checkpoint of step
    /// 100 is untouched, and the next `--resume auto` prunes the half-written folder and ends where an
    /// uninterrupted run ends.
    func testFullDiskDuringACheckpointKeepsThePreviousOne() throws {
        try uninterruptedRunAndFirstHundredSteps(of: "full")
        let previous = runs.appendingPathComponent("full/checkpoints/step-00000100")
        let previousFiles = try ["model.safetensors", "trainer-state.safetensors", "COMPLETE"].map {
            try Data(contentsOf: previous.appendingPathComponent($0))
        }
        let half = runs.appendingPathComponent("full/checkpoints/step-00000150")
        func assertNothingEarlierLost(_ result: LaunchResult, file: StaticString = #filePath, line: UInt = #line) throws {
            XCTAssertEqual(try ["model.safetensors", "trainer-state.safetensors", "COMPLETE"].map {
                try Data(contentsOf: previous.appendingPathComponent($0))
            }, previousFiles, "the checkpoint of step 100 changed\n\(result.transcript)", file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: half.appendingPathComponent("COMPLETE").path), result.transcript,
                           file: file, line: line)
            XCTAssertTrue(FileManager.default.fileExists(atPath: half.appendingPathComponent("model.safetensors").path),
                          "the model file fits under the limit\n\(result.transcript)", file: file, line: line)
        }

        let killed = try jobWithFileSizeLimit("full", steps: 150, blocks: 2000, ignoreSignal: false)
        XCTAssertEqual(killed.exitCode, 128 + SIGXFSZ, killed.transcript)
        XCTAssertTrue(killed.standardError.contains("exited on signal 25 (File size limit exceeded)"), killed.transcript)
        try assertNothingEarlierLost(killed)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: half.path)
        XCTAssertTrue(leftovers.contains { $0.hasPrefix(".trainer-state.safetensors.tmp-") }, "\(leftovers)")

        let refused = try jobWithFileSizeLimit("full", steps: 150, blocks: 2000, ignoreSignal: true)
        XCTAssertEqual(refused.exitCode, 1, refused.transcript)
        let lines = ownLines(refused)
        XCTAssertEqual(lines.count, 1, refused.transcript)
        XCTAssertTrue(lines.first?.hasSuffix("\(half.path)/trainer-state.safetensors: writing failed: File too large") == true,
                      refused.transcript)
        try assertNothingEarlierLost(refused)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: half.path), ["model.safetensors"],
                       "the killed run's temporary file is pruned on reopening, the failed write removes its own")

        let resumed = try job("full", steps: 150, ["--resume", "auto"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.transcript)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from step 100"), resumed.transcript)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: half.path)),
                       ["model.safetensors", "trainer-state.safetensors", "COMPLETE"])
        XCTAssertEqual(ClusterJob.parameterHash(in: try text("full/summary.txt")),
                       ClusterJob.parameterHash(in: try text("whole/summary.txt")))
    }
}
