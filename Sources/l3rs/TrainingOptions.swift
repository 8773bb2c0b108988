import ArgumentParser
import Choices
import Network
import Optimizers
import Training

/// Options of `finetune` and `pretrain`: a YAML configuration, and flags that override its keys.
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML run configuration (jobs/configs/); flags below override its keys.")
    var config: String?
    @OptionGroup var selection: RunSelectionOptions
    @OptionGroup var control: RunControlOptions
    @Option(help: "\(HeadInitialisation.validNames.joined(separator: " or ")) the classification head (default: \(trainingDefaults.head.rawValue)).") var head: String?
    @Option(help: "Glob pattern of parameter names not to train (repeatable).") var freeze: [String] = []
    @Option(help: "\(OptimizerKind.validNames.joined(separator: ", ")), or l3rs (a learned optimizer) (default: \(trainingDefaults.optimizer.rawValue)).") var optimizer: String?
    @Option(help: "With --optimizer l3rs: the learned optimizer (l3rs.safetensors of a meta-train run); without it, the shipped \(ShippedLearnedOptimizer.relativePath) (meta-trained for ccexam-mnist; found via \(ShippedLearnedOptimizer.environmentVariable), the clone the binary was built in, or the current directory); 'none': the untrained L3RS (normalised Adam at λ0 = learning rate).")
    var l3rsWeights: String?
    @Option(help: "Base learning rate (default: \(trainingDefaults.learningRate)); with --optimizer l3rs only with --l3rs-weights none.") var learningRate: Double?
    @Option(help: "\(ScheduleKind.validNames.joined(separator: ", ")) (default: \(trainingDefaults.schedule.rawValue)).") var schedule: String?
    @Option(help: "Linear warm-up steps (default: \(trainingDefaults.warmupSteps)).") var warmupSteps: Int?
    @Option(help: "Learning-rate multiplier of the classification head (default: \(trainingDefaults.headLearningRateMultiplier)).") var headLearningRateMultiplier: Double?
    @Option(help: "Weight decay (default: \(trainingDefaults.weightDecay)).") var weightDecay: Double?
    @Option(help: "Global-norm gradient clipping (0: off) (default: \(trainingDefaults.clipNorm)).") var clipNorm: Double?
    @Option(help: "Training steps (default: \(trainingDefaults.steps)).") var steps: Int?
    @Option(help: "Evaluate on the test split every N steps (0: at the end only) (default: \(trainingDefaults.evalEvery)).") var evalEvery: Int?
    @Option(help: "test (the default) or validation: evaluate on a seeded held-out part of the training split instead of the test split (for tuning).")
    var evaluationSplit: String?
    @Option(help: "Compare parameter hashes across ranks every N steps (0: off) (default: \(trainingDefaults.hashEvery)).") var hashEvery: Int?
    @Option(help: "BatchNorm in training: sync (global batch statistics over ranks, the default), local (each rank's slice), frozen (running statistics; scale and shift still trained).")
    var batchNorm: String?
    @Option(help: "replicated (every rank holds the whole optimizer state, the default) or sharded (each rank holds its own layers' state, ZeRO stage 1: the same parameters, about 1/ranks of the state memory).")
    var optimizerState: String?
    @Option(help: "Gradient accumulation: forward and backward each rank's slice in this many micro-batches (the same gradient to rounding, 1/k of the activation memory; BatchNorm then uses each micro-batch's statistics) (default: \(trainingDefaults.microBatches)).")
    var microBatches: Int?
    @Flag(help: "Resize images to the backbone's input when shapes differ.") var resize = false
    @Flag(help: "Random crop and flip augmentation.") var augment = false

    @Option(help: ArgumentHelp("Act as if SIGTERM arrived during this step (tests).", visibility: .hidden))
    var simulateSignalAtStep: Int?

    /// `resolve()` and the preflight checks of the files it names, as a `ValidationError` (exit status 64).
    func resolveAndCheck() throws {
        try validating { try TrainingPreflight.check(try resolve(), learningRateFlag: learningRate != nil) }
    }

    /// The configuration file (or defaults) with every given flag applied, validated.
    func resolve(defaults: TrainingConfiguration = TrainingConfiguration()) throws -> TrainingConfiguration {
        var c = try config.map { try TrainingConfiguration.load(file: $0) } ?? defaults
        selection.apply(to: &c)
        control.apply(to: &c)
        if let head { c.head = try HeadInitialisation(parsing: head, key: "--head") }
        if !freeze.isEmpty { c.freeze = freeze }
        if let optimizer { c.optimizer = try TrainingOptimizer(parsing: optimizer, key: "--optimizer") }
        if let l3rsWeights { c.l3rsWeights = l3rsWeights }
        if let learningRate { c.learningRate = learningRate }
        if let schedule { c.schedule = try ScheduleKind(parsing: schedule, key: "--schedule") }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let headLearningRateMultiplier { c.headLearningRateMultiplier = headLearningRateMultiplier }
        if let weightDecay { c.weightDecay = weightDecay }
        if let clipNorm { c.clipNorm = clipNorm }
        if let steps { c.steps = steps }
        if let evalEvery { c.evalEvery = evalEvery }
        if let evaluationSplit { c.evaluationSplit = try EvaluationSplit(parsing: evaluationSplit, key: "--evaluation-split") }
        if let hashEvery { c.hashEvery = hashEvery }
        if let batchNorm { c.batchNorm = try BatchNormMode(parsing: batchNorm, key: "--batch-norm") }
        if let optimizerState { c.optimizerState = try OptimizerStateMode(parsing: optimizerState, key: "--optimizer-state") }
        if let microBatches { c.microBatches = microBatches }
        c.l3rsWeights = try ShippedLearnedOptimizer.resolve(weights: c.l3rsWeights, optimizer: c.optimizer)
        if resize { c.resize = true }
        if augment { c.augment = true }
        try c.validate()
        if c.optimizer != .l3rs { _ = try c.optimizerConfiguration() }
        return c
    }
}
