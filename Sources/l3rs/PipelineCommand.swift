import ArgumentParser
import Distributed
import Foundation
import Kernels
import Pipeline
import Runs
import Training

/// `l3rs pipeline`: the paper's whole experiment in one command (docs/method.md §6): the other backbone,
/// meta-training and its ablations, tuned baselines, evaluation in every condition, and the report.
struct PipelineCommand: ResolvingCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run the whole pipeline: pretrain another backbone, meta-train L3RS and its ablations, tune the baselines at every horizon, search the schedule oracle, evaluate every arm over seeds in every condition, write the report (report.md, report.html, report.json).",
        discussion: """
        Without --config it runs the embedded default (jobs/configs/pipeline-default.yaml). Every stage is a run \
        folder under RUNS/NAME/; report.md, report.html and plots/ are written there at the end.
        Exit status: 0 finished; 1 error; 64 bad option or configuration; \(DivergenceError.exitStatus) a stage diverged; \
        \(StopSignal.exitCode) stopped by SIGTERM/SIGINT/SIGUSR1 after the current stage's \
        checkpoint (run again with --resume auto: complete stages are skipped, the interrupted one continues).
        """
    )

    @Option(help: "YAML pipeline configuration (jobs/configs/pipeline-*.yaml); default: the embedded pipeline-default.yaml.")
    var config: String?
    @Option(help: "Pipeline name: results go to RUNS/NAME/.") var name: String?
    @Option(help: "Folder of run folders.") var runsDirectory: String?
    @Option(help: "Folder that `make data` fills (weights are relative to it).") var dataDirectory: String?
    @Option(name: .customLong("resume"), help: ArgumentHelp("auto: skip complete stages and continue the interrupted one; none: start fresh.", valueName: "resume"))
    var resumeName = ResumeMode.none.rawValue
    @Option(help: ArgumentHelp("With --simulate-signal-at-step: the stage (e.g. tune/adam-constant-lr0.001) that acts as if SIGTERM arrived (tests).", visibility: .hidden))
    var simulateSignalStage: String?
    @Option(help: ArgumentHelp("The step of --simulate-signal-stage at which SIGTERM is simulated (tests).", visibility: .hidden))
    var simulateSignalAtStep: Int?
    @OptionGroup var distributed: DistributedOptions

    func resolve() throws -> PipelineConfiguration {
        _ = try flagChoice(ResumeMode.self, resumeName, flag: "--resume")
        var c = try config.map { try PipelineConfiguration.load(file: $0) } ?? DefaultPipelineConfiguration.load()
        if let name { c.name = name }
        if let runsDirectory { c.runsDirectory = runsDirectory }
        if let dataDirectory { c.dataDirectory = dataDirectory }
        try c.validate()
        return c
    }

    func run() throws {
        let configuration = try resolve()
        try runStoppableJob("pipeline", configurationYAML: configuration.yaml, distributed: distributed) { communicator in
            let run = PipelineRun(configuration: configuration, communicator: communicator, resume: resumeName == ResumeMode.auto.rawValue) { printLine($0) }
            run.simulatedSignalStage = simulateSignalStage
            run.simulatedSignalStep = simulateSignalAtStep
            if case let .stopped(stage) = try run.execute() {
                if communicator.isRoot { printLine("pipeline stopped during \(stage); run again with --resume auto") }
                return true
            }
            return false
        }
    }
}
