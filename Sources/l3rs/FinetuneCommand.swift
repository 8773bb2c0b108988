import ArgumentParser
import Distributed
import Foundation
import Kernels
import Runs
import Training

/// `l3rs finetune`: fine-tune a pretrained backbone with a hand-designed optimizer, data-parallel.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pretrained backbone on a dataset with a hand-designed or learned (--optimizer l3rs) optimizer (data-parallel over MPI).",
        discussion: """
        Results go to RUNS/NAME/: config.yaml, metrics.jsonl, checkpoints/, final.safetensors, summary.txt.
        Every option and file is checked before anything runs or prints; a bad one is a one-line error naming \
        it (exit status 64). A run without --weights, or a learned optimizer run past its meta-training \
        horizon, is warned about.
        Exit status: 0 finished; 1 error; 64 bad option or configuration (nothing ran); \(DivergenceError.exitStatus) diverged \
        (maxNonFiniteSteps); \(StopSignal.exitCode) stopped by SIGTERM/SIGINT/SIGUSR1 after writing a checkpoint \
        (run again with --resume auto).
        """
    )

    @OptionGroup var options: TrainingOptions
    @OptionGroup var distributed: DistributedOptions

    func validate() throws {
        try options.resolveAndCheck()
    }

    func run() throws {
        try runTraining(try options.resolve(), options: options, distributed: distributed, command: "finetune")
    }
}

/// `l3rs pretrain`: the same trainer from a seeded random initialisation (for another backbone to test on).
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Train a model from a seeded random initialisation (the finetune trainer without pretrained weights).",
        discussion: "Same run folder and exit status as finetune."
    )

    @OptionGroup var options: TrainingOptions
    @OptionGroup var distributed: DistributedOptions

    private func resolved() throws -> TrainingConfiguration {
        var defaults = TrainingConfiguration()
        defaults.name = "pretrain"
        defaults.data = "mnist-5k"
        let configuration = try options.resolve(defaults: defaults)
        guard configuration.weights.isEmpty else {
            throw ValidationError("pretrain starts from a random initialisation; weights (\(configuration.weights)) are for finetune")
        }
        return configuration
    }

    func validate() throws {
        try validating { try TrainingPreflight.check(try resolved(), learningRateFlag: options.learningRate != nil) }
    }

    func run() throws {
        try runTraining(try resolved(), options: options, distributed: distributed, command: "pretrain")
    }
}

/// Prints the configuration's warnings (once per job), runs it on this rank and maps the outcome to the
/// documented exit status.
func runTraining(_ configuration: TrainingConfiguration, options: TrainingOptions, distributed: DistributedOptions,
                 command: String) throws {
    if LauncherEnvironment.rank ?? 0 == 0 {
        for warning in TrainingPreflight.warnings(configuration, command: command) { printError("warning: " + warning) }
    }
    try runStoppableJob("train", configurationYAML: configuration.yaml, distributed: distributed) { communicator in
        let run = TrainingRun(configuration: configuration, communicator: communicator, resume: options.control.resume == .auto) { line in
            printLine(line)
        }
        run.simulatedSignalStep = options.simulateSignalAtStep
        run.allowChangedConfiguration = options.control.allowChangedConfiguration
        if case .stopped = try run.execute() { return true }
        return false
    }
}
