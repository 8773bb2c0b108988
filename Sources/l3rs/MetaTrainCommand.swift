import ArgumentParser
import Distributed
import Foundation
import Kernels
import LearnedOptimizer
import MetaTraining
import Runs
import Training

/// `l3rs meta-train`: meta-train an L3RS learned optimizer on a pretrained backbone, data-parallel.
struct MetaTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meta-train",
        abstract: "Meta-train an L3RS learned optimizer by truncated backpropagation through fine-tuning runs (data-parallel over MPI).",
        discussion: """
        Results go to RUNS/NAME/: config.yaml, metrics.jsonl (meta-loss, meta-gradient norm, mean λ and μ per \
        layer), checkpoints/, l3rs.safetensors (the learned optimizer, for finetune --optimizer l3rs \
        --l3rs-weights), summary.txt.
        Exit status: 0 finished; 1 error; 64 bad option or configuration; \(DivergenceError.exitStatus) diverged \
        (maxNonFiniteSteps bad meta-steps in a row); \(StopSignal.exitCode) stopped by SIGTERM/SIGINT/SIGUSR1 after \
        writing a checkpoint (run again with --resume auto).
        """
    )

    @Option(help: "YAML meta-training configuration (jobs/configs/); flags below override its keys.")
    var config: String?
    @OptionGroup var selection: RunSelectionOptions
    @Option(help: "Meta-steps (truncations) to run (default: \(metaDefaults.metaSteps)).") var metaSteps: Int?
    @Option(help: "T: inner steps per truncation (default: \(metaDefaults.truncation)).") var truncation: Int?
    @Option(help: "H: inner steps before an inner run restarts (default: \(metaDefaults.horizon)).") var horizon: Int?
    @Option(help: "Inner runs advanced in turn (default: \(metaDefaults.innerRuns)).") var innerRuns: Int?
    @Option(help: "firstOrder or secondOrder (default: \(metaDefaults.order)).") var order: String?
    @Option(help: "auto, store or recompute (default: \(metaDefaults.memory)).") var memory: String?
    @Option(help: "Memory budget of a truncation's stored intermediates, MiB (default: \(metaDefaults.memoryBudgetMB)).") var memoryBudgetMb: Double?
    @Option(help: "layerEmbedding or kindAndDepth (embedding-free, transfers to other backbones) (default: \(metaDefaults.variant)).") var variant: String?
    @Option(help: "λ0, the step size at initialisation (default: \(metaDefaults.baseLearningRate)).") var baseLearningRate: Double?
    @Option(help: "Meta-optimizer (Adam) learning rate (default: \(metaDefaults.metaLearningRate)).") var metaLearningRate: Double?
    @Option(help: "Meta-loss weighting of a truncation's steps: uniform, linear or final (default: \(metaDefaults.metaLossWeighting)).") var metaLossWeighting: String?
    @Option(help: "ρ of the step-size penalty ρ·mean(log(λ/λ0)²) in the meta-loss (0: none) (default: \(metaDefaults.stepSizePenalty)).") var stepSizePenalty: Double?
    @Option(help: "Initial mixing logit of Adam (20: exactly normalised Adam; smaller: a trainable mix) (default: \(metaDefaults.initialPreferredLogit)).")
    var initialPreferredLogit: Double?
    @Option(help: "Meta-optimizer global-norm clipping (default: \(metaDefaults.metaClipNorm)).") var metaClipNorm: Double?
    @Option(help: "Images per inner step over all ranks (default: \(metaDefaults.globalBatch)).") var globalBatch: Int?
    @Option(help: "Images per meta-validation batch over all ranks (default: \(metaDefaults.validationBatch)).") var validationBatch: Int?
    @Option(help: "Seed of φ, the validation split, heads and data orders (default: \(metaDefaults.seed)).") var seed: UInt64?
    @Option(help: "Checkpoint every N meta-steps (0: at the end only) (default: \(metaDefaults.checkpointEvery)).") var checkpointEvery: Int?
    @Option(help: "Meta-gradient estimator: truncatedBackprop, antitheticES or pes (persistent ES, unbiased across truncations).") var estimator: String?
    @Option(help: "Inner runs (tasks) whose meta-gradients one meta-step averages.") var tasksPerMetaStep: Int?
    @Option(help: "Score φ on held-out tasks every N meta-steps and keep the best (0: never).") var validateEvery: Int?
    @Option(help: "auto: continue from the newest complete checkpoint of the run; none: start fresh.")
    var resume: TrainingOptions.ResumeMode = .none
    @Flag(help: "With --resume auto: continue even though the configuration differs from the checkpoint's in keys that change the results (recorded in the run's configuration-changes.log).")
    var allowChangedConfiguration = false
    @Option(help: "Stop as diverged (exit 65) after this many consecutive bad meta-steps (0: never).")
    var maxNonFiniteSteps: Int?
    @OptionGroup var distributed: DistributedOptions

    func resolve() throws -> MetaTrainingConfiguration {
        var c = try config.map { try MetaTrainingConfiguration.load(file: $0) } ?? MetaTrainingConfiguration()
        selection.apply(to: &c)
        if let metaSteps { c.metaSteps = metaSteps }
        if let truncation { c.truncation = truncation }
        if let horizon { c.horizon = horizon }
        if let innerRuns { c.innerRuns = innerRuns }
        if let order { c.order = try choice(order, flag: "--order") }
        if let memory { c.memory = memory }
        if let memoryBudgetMb { c.memoryBudgetMB = memoryBudgetMb }
        if let variant { c.variant = try choice(variant, flag: "--variant") }
        if let baseLearningRate { c.baseLearningRate = baseLearningRate }
        if let metaLearningRate { c.metaLearningRate = metaLearningRate }
        if let metaLossWeighting { c.metaLossWeighting = try choice(metaLossWeighting, flag: "--meta-loss-weighting") }
        if let stepSizePenalty { c.stepSizePenalty = stepSizePenalty }
        if let initialPreferredLogit { c.initialPreferredLogit = initialPreferredLogit }
        if let metaClipNorm { c.metaClipNorm = metaClipNorm }
        if let globalBatch { c.globalBatch = globalBatch }
        if let validationBatch { c.validationBatch = validationBatch }
        if let seed { c.seed = seed }
        if let estimator { c.estimator = try choice(estimator, flag: "--estimator") }
        if let tasksPerMetaStep { c.tasksPerMetaStep = tasksPerMetaStep }
        if let validateEvery { c.validateEvery = validateEvery }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let maxNonFiniteSteps { c.maxNonFiniteSteps = maxNonFiniteSteps }
        try c.validate()
        return c
    }

    func validate() throws {
        do { _ = try resolve() } catch let error as ValidationError { throw error } catch {
            throw ValidationError(String(describing: error))
        }
    }

    func run() throws {
        let configuration = try resolve()
        try runStoppableJob("meta-train", configurationYAML: configuration.yaml, distributed: distributed) { communicator in
            let run = MetaTrainingRun(configuration: configuration, communicator: communicator,
                                      resume: resume == .auto) { printLine($0) }
            run.allowChangedConfiguration = allowChangedConfiguration
            if case .stopped = try run.execute() { return true }
            return false
        }
    }
}

/// The values a flag left out takes when no configuration file sets it, shown in --help.
private let metaDefaults = MetaTrainingConfiguration()

/// The named case of a string-valued enum given to `flag`, or an error listing the valid names and the
/// nearest one.
private func choice<Value: RawRepresentable & CaseIterable>(_ text: String, flag: String) throws -> Value where Value.RawValue == String {
    guard let value = Value(rawValue: text) else {
        let valid = Value.allCases.map(\.rawValue)
        throw ValidationError("\(flag) must be one of \(valid.joined(separator: ", ")), got '\(text)'" + Suggestion.hint(for: text, among: valid))
    }
    return value
}
