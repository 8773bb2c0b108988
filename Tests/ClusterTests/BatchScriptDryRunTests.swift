import Foundation
import TestSupport
import XCTest

/// The job scripts without a batch system. Debian bookworm packages no PBS server (neither openpbs nor torque has an
/// apt candidate), so the PBS scripts are checked by a qsub-free dry run: their #PBS lines are parsed, and the
/// script runs as PBS would run it (PBS_* variables, a PBS_NODEFILE of two ranks on this machine, and a `qrerun`
/// stub on PATH that records its call). Every script refuses to start without a configuration.
final class BatchScriptDryRunTests: XCTestCase {
    private static let commands = ["finetune", "meta-train", "pipeline"]
    private var scratch: URL!

    override func setUpWithError() throws { scratch = try ClusterJob.scratchFolder("pbs") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// The #PBS lines name the job, set a walltime, make it rerunnable, and leave ranks and nodes to qsub's select
    /// statement; the script runs the command its name says.
    func testPBSDirectivesLeaveTheShapeToQsubAndMakeTheJobRerunnable() throws {
        for command in Self.commands {
            let text = try String(contentsOfFile: ClusterJob.script("jobs/pbs/\(command).pbs"), encoding: .utf8)
            let directives = text.split(separator: "\n").filter { $0.hasPrefix("#PBS ") }.map { String($0.dropFirst(5)) }
            XCTAssertTrue(directives.contains("-N l3rs-\(command)"), "\(command): \(directives)")
            XCTAssertTrue(directives.contains("-r y"), "\(command): \(directives)")
            XCTAssertTrue(directives.contains { $0.hasPrefix("-l walltime=") }, "\(command): \(directives)")
            XCTAssertFalse(directives.contains { $0.contains("select") || $0.contains("nodes=") || $0.contains("mpiprocs") },
                           "\(command): the shape must come from qsub only: \(directives)")
            XCTAssertTrue(text.contains("\nL3RS_COMMAND=\(command)\n"), command)
        }
    }

    /// The #SBATCH lines leave ranks and nodes to sbatch's flags (a fixed --ntasks or --nodes would clash with the
    /// user's --ntasks-per-node), and ask for the TERM warning and requeueing.
    func testSlurmDirectivesLeaveTheShapeToSbatch() throws {
        for command in Self.commands {
            let text = try String(contentsOfFile: ClusterJob.script("jobs/slurm/\(command).sbatch"), encoding: .utf8)
            let directives = text.split(separator: "\n").filter { $0.hasPrefix("#SBATCH ") }.map { String($0.dropFirst(8)) }
            for required in ["--job-name=l3rs-\(command)", "--signal=B:TERM@120", "--requeue", "--open-mode=append"] {
                XCTAssertTrue(directives.contains(required), "\(command): \(required) missing from \(directives)")
            }
            XCTAssertFalse(directives.contains { $0.hasPrefix("--ntasks") || $0.hasPrefix("--nodes") || $0.hasPrefix("-n ") || $0.hasPrefix("-N ") },
                           "\(command): the shape must come from sbatch's flags only: \(directives)")
        }
    }

    /// Every script without a configuration (no argument, no L3RS_CONFIG), or with one that does not exist, stops
    /// with exit status 64 and says how to give one, before launching anything.
    func testEveryScriptRefusesToRunWithoutAConfiguration() throws {
        let scripts = Self.commands.flatMap { ["jobs/slurm/\($0).sbatch", "jobs/pbs/\($0).pbs"] } + ["jobs/mpirun/finetune.sh"]
        for script in scripts {
            let environment = ["L3RS_HOME": MPIRun.repositoryRoot.path, "L3RS_CONFIG": "", "L3RS_BIN": "/bin/false"]
            let none = try MPIRun.run("/bin/bash", [ClusterJob.script(script), "--steps", "10"], timeout: 30, environment: environment)
            XCTAssertEqual(none.exitCode, 64, "\(script)\n\(none.transcript)")
            XCTAssertTrue(none.standardError.contains("no configuration: give the YAML file as the first argument"), "\(script)\n\(none.transcript)")
            let missing = try MPIRun.run("/bin/bash", [ClusterJob.script(script), "jobs/configs/no-such.yaml"], timeout: 30,
                                         environment: environment)
            XCTAssertEqual(missing.exitCode, 64, "\(script)\n\(missing.transcript)")
            XCTAssertTrue(missing.standardError.contains("configuration jobs/configs/no-such.yaml: no such file"), "\(script)\n\(missing.transcript)")
        }
    }

    /// jobs/pbs/finetune.pbs as PBS runs it: TERM mid-run (qdel, preemption, walltime) makes the ranks checkpoint,
    /// the script exits 75 and asks PBS to rerun the job; the rerun resumes and ends with the parameters of a run
    /// never interrupted.
    func testPBSFinetuneStoppedByTERMAsksForARerunThatEndsLikeAnUninterruptedRun() throws {
        let runs = scratch.appendingPathComponent("runs")
        let whole = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + ClusterJob.finetuneArguments(name: "whole", runs: runs, steps: 400),
                                      timeout: 180)
        XCTAssertEqual(whole.exitCode, 0, whole.transcript)

        var environment = try pbsEnvironment(command: "finetune", runs: runs)
        environment["L3RS_ARGS"] = "--data-directory \(MPIRun.dataDirectory) --steps 400"
        let arguments = [ClusterJob.script("jobs/pbs/finetune.pbs")]
        let job = try BackgroundProcess("/bin/bash", arguments, environment: environment)
        let checkpoints = runs.appendingPathComponent("l3rs-finetune-4242/checkpoints")
        XCTAssertTrue(job.wait(timeout: 120) {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).contains { $0.hasPrefix("step-") }
        }, job.output)
        kill(job.process.processIdentifier, SIGTERM)
        XCTAssertEqual(job.finish(timeout: 60), 75, job.output)
        for expected in ["l3rs finetune, 2 rank(s) on 1 node(s)", "TERM received", "stop signal received: checkpoint of step",
                         "rerunning job 4242.pbs-server"] {
            XCTAssertTrue(job.output.contains(expected), "missing \"\(expected)\"\n\(job.output)")
        }
        XCTAssertEqual(try String(contentsOf: scratch.appendingPathComponent("qrerun.calls"), encoding: .utf8), "4242.pbs-server\n")

        let rerun = try MPIRun.run("/bin/bash", arguments, timeout: 180, environment: environment)
        XCTAssertEqual(rerun.exitCode, 0, rerun.transcript)
        XCTAssertTrue(rerun.standardOutput.contains("resuming from step"), rerun.transcript)
        let summary = try String(contentsOf: runs.appendingPathComponent("l3rs-finetune-4242/summary.txt"), encoding: .utf8)
        let reference = try String(contentsOf: runs.appendingPathComponent("whole/summary.txt"), encoding: .utf8)
        XCTAssertEqual(ClusterJob.parameterHash(in: summary), ClusterJob.parameterHash(in: reference))
    }

    /// jobs/pbs/meta-train.pbs as PBS runs it, the configuration and flags from -v variables: the tiny meta-training
    /// ends and writes its learned optimizer.
    func testPBSMetaTrainRunsATinyMetaTraining() throws {
        let runs = scratch.appendingPathComponent("runs")
        var environment = try pbsEnvironment(command: "meta-train", runs: runs)
        environment["L3RS_CONFIG"] = ClusterJob.script("jobs/configs/meta-train-tiny.yaml")
        environment["L3RS_ARGS"] = "--data-directory \(MPIRun.dataDirectory) --weights \(MPIRun.dataDirectory)/ccexam/mnist.pth"
        let result = try MPIRun.run("/bin/bash", [ClusterJob.script("jobs/pbs/meta-train.pbs")], timeout: 300, environment: environment)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        XCTAssertTrue(result.standardOutput.contains("l3rs meta-train, 2 rank(s)") && result.standardOutput.contains("finished 3 meta-steps"),
                      result.transcript)
        XCTAssertTrue(FileManager.default.fileExists(atPath: runs.appendingPathComponent("l3rs-meta-train-4242/l3rs.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("qrerun.calls").path), "a finished job is not rerun")
    }

    /// What PBS gives a job: its id and name, the submit folder, a node file with a line per rank (2 on this
    /// machine), and a `qrerun` stub first on PATH that appends its arguments to scratch/qrerun.calls.
    private func pbsEnvironment(command: String, runs: URL) throws -> [String: String] {
        let nodefile = scratch.appendingPathComponent("nodefile")
        try Data("localhost\nlocalhost\n".utf8).write(to: nodefile)
        let bin = scratch.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let qrerun = bin.appendingPathComponent("qrerun")
        try Data("#!/bin/sh\necho \"$@\" >> \(scratch.appendingPathComponent("qrerun.calls").path)\n".utf8).write(to: qrerun)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: qrerun.path)
        return ["PBS_JOBID": "4242.pbs-server", "PBS_JOBNAME": "l3rs-\(command)", "PBS_O_WORKDIR": MPIRun.repositoryRoot.path,
                "PBS_NODEFILE": nodefile.path, "PATH": bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                "L3RS_CONFIG": ClusterJob.smokeConfiguration, "L3RS_BIN": MPIRun.l3rsExecutable, "L3RS_RUNS": runs.path,
                "MPIRUN_FLAGS": "--oversubscribe"]
    }
}
