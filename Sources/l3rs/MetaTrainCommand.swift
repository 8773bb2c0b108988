import ArgumentParser
import Choices
import Distributed
import Foundation
import Kernels
import LearnedOptimizer
import MetaTraining
import Network
import Runs
import Training

/// `l3rs meta-train`: meta-train an L3RS learned optimizer on a pretrained backbone, data-parallel.
struct MetaTrainCommand: ResolvingCommand {
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
    @OptionGroup var control: RunControlOptions
    @Option(help: "Meta-steps (truncations) to run (default: \(metaTrainingDefaults.metaSteps)).") var metaSteps: Int?
    @Option(help: "T: inner steps per truncation (default: \(metaTrainingDefaults.truncation)).") var truncation: Int?
    @Option(help: "H: inner steps before an inner run restarts (default: \(metaTrainingDefaults.horizon)).") var horizon: Int?
    @Option(help: "Inner runs advanced in turn (default: \(metaTrainingDefaults.innerRuns)).") var innerRuns: Int?
    @Option(help: "BatchNorm in the inner runs: \(BatchNormMode.validNames.joined(separator: ", ")) (default: \(metaTrainingDefaults.batchNorm.rawValue)).") var batchNorm: String?
    @Option(help: "\(MetaGradientOrder.validNames.joined(separator: " or ")) (default: \(metaTrainingDefaults.order.rawValue)).") var order: String?
    @Option(help: "How a truncation's intermediates are kept: \(UnrollMemoryMode.validNames.joined(separator: ", ")) (default: \(metaTrainingDefaults.memory.rawValue)).") var memory: String?
    @Option(help: "Memory budget of a truncation's stored intermediates, MiB (default: \(metaTrainingDefaults.memoryBudgetMB)).") var memoryBudgetMb: Double?
    @Option(help: "layerEmbedding or kindAndDepth (embedding-free, transfers to other backbones) (default: \(metaTrainingDefaults.variant.rawValue)).") var variant: String?
    @Option(help: "λ0, the step size at initialisation (default: \(metaTrainingDefaults.baseLearningRate)).") var baseLearningRate: Double?
    @Option(help: "Meta-optimizer (Adam) learning rate (default: \(metaTrainingDefaults.metaLearningRate)).") var metaLearningRate: Double?
    @Option(help: "Meta-loss weighting of a truncation's steps: \(MetaLossWeighting.validNames.joined(separator: ", ")) (default: \(metaTrainingDefaults.metaLossWeighting.rawValue)).") var metaLossWeighting: String?
    @Option(help: "ρ of the step-size penalty ρ·mean(log(λ/λ0)²) in the meta-loss (0: none) (default: \(metaTrainingDefaults.stepSizePenalty)).") var stepSizePenalty: Double?
    @Option(help: "Initial mixing logit of Adam (20: exactly normalised Adam; smaller: a trainable mix) (default: \(metaTrainingDefaults.initialPreferredLogit)).")
    var initialPreferredLogit: Double?
    @Option(help: "Meta-optimizer global-norm clipping (default: \(metaTrainingDefaults.metaClipNorm)).") var metaClipNorm: Double?
    @Option(help: "Images per meta-validation batch over all ranks (default: \(metaTrainingDefaults.validationBatch)).") var validationBatch: Int?
    @Option(help: "Meta-gradient estimator: \(MetaGradientEstimator.validNames.joined(separator: ", ")) (pes: persistent ES, unbiased across truncations) (default: \(metaTrainingDefaults.estimator.rawValue)).") var estimator: String?
    @Option(help: "Inner runs (tasks) whose meta-gradients one meta-step averages.") var tasksPerMetaStep: Int?
    @Option(help: "Score φ on held-out tasks every N meta-steps and keep the best (0: never).") var validateEvery: Int?
    @OptionGroup var distributed: DistributedOptions

    func resolve() throws -> MetaTrainingConfiguration {
        var c = try config.map { try MetaTrainingConfiguration.load(file: $0) } ?? MetaTrainingConfiguration()
        selection.apply(to: &c)
        control.apply(to: &c)
        if let metaSteps { c.metaSteps = metaSteps }
        if let truncation { c.truncation = truncation }
        if let horizon { c.horizon = horizon }
        if let innerRuns { c.innerRuns = innerRuns }
        if let batchNorm { c.batchNorm = try BatchNormMode(parsing: batchNorm, key: "--batch-norm") }
        if let order { c.order = try MetaGradientOrder(parsing: order, key: "--order") }
        if let memory { c.memory = try UnrollMemoryMode(parsing: memory, key: "--memory") }
        if let memoryBudgetMb { c.memoryBudgetMB = memoryBudgetMb }
        if let variant { c.variant = try L3RSVariant(parsing: variant, key: "--variant") }
        if let baseLearningRate { c.baseLearningRate = baseLearningRate }
        if let metaLearningRate { c.metaLearningRate = metaLearningRate }
        if let metaLossWeighting { c.metaLossWeighting = try MetaLossWeighting(parsing: metaLossWeighting, key: "--meta-loss-weighting") }
        if let stepSizePenalty { c.stepSizePenalty = stepSizePenalty }
        if let initialPreferredLogit { c.initialPreferredLogit = initialPreferredLogit }
        if let metaClipNorm { c.metaClipNorm = metaClipNorm }
        if let validationBatch { c.validationBatch = validationBatch }
        if let estimator { c.estimator = try MetaGradientEstimator(parsing: estimator, key: "--estimator") }
        if let tasksPerMetaStep { c.tasksPerMetaStep = tasksPerMetaStep }
        if let validateEvery { c.validateEvery = validateEvery }
        try c.validate()
        return c
    }

    func run() throws {
        let configuration = try resolve()
        try runStoppableJob("meta-train", configurationYAML: configuration.yaml, distributed: distributed) { communicator in
            let run = MetaTrainingRun(configuration: configuration, communicator: communicator,
                                      resume: control.resume == .auto) { printLine($0) }
            run.allowChangedConfiguration = control.allowChangedConfiguration
            if case .stopped = try run.execute() { return true }
            return false
        }
    }
}
