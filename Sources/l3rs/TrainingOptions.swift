import ArgumentParser
import Network
import Training

/// The values a flag left out takes when no configuration file sets it, shown in --help.
private let defaults = TrainingConfiguration()
extension BatchNormMode: ExpressibleByArgument {}

/// Options of `finetune` and `pretrain`: a YAML configuration, and flags that override its keys.
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML run configuration (jobs/configs/); flags below override its keys.")
    var config: String?
    @OptionGroup var selection: RunSelectionOptions
    @Option(help: "keep or reinit the classification head (default: \(defaults.head)).") var head: String?
    @Option(help: "Glob pattern of parameter names not to train (repeatable).") var freeze: [String] = []
    @Option(help: "sgd, momentum, nesterov, adam, adamw, lion, rmsprop, or l3rs (a learned optimizer) (default: \(defaults.optimizer)).") var optimizer: String?
    @Option(help: "With --optimizer l3rs: the learned optimizer (l3rs.safetensors of a meta-train run); without it, the shipped \(ShippedLearnedOptimizer.relativePath) (meta-trained for ccexam-mnist; found via \(ShippedLearnedOptimizer.environmentVariable), the clone the binary was built in, or the current directory); 'none': the untrained L3RS (normalised Adam at λ0 = learning rate).")
    var l3rsWeights: String?
    @Option(help: "Base learning rate (default: \(defaults.learningRate)); with --optimizer l3rs only with --l3rs-weights none.") var learningRate: Double?
    @Option(help: "constant, cosine, warmup-cosine, linear (default: \(defaults.schedule)).") var schedule: String?
    @Option(help: "Linear warm-up steps (default: \(defaults.warmupSteps)).") var warmupSteps: Int?
    @Option(help: "Learning-rate multiplier of the classification head (default: \(defaults.headLearningRateMultiplier)).") var headLearningRateMultiplier: Double?
    @Option(help: "Weight decay (default: \(defaults.weightDecay)).") var weightDecay: Double?
    @Option(help: "Global-norm gradient clipping (0: off) (default: \(defaults.clipNorm)).") var clipNorm: Double?
    @Option(help: "Images per step over all ranks (default: \(defaults.globalBatch)).") var globalBatch: Int?
    @Option(help: "Training steps (default: \(defaults.steps)).") var steps: Int?
    @Option(help: "Evaluate on the test split every N steps (0: at the end only) (default: \(defaults.evalEvery)).") var evalEvery: Int?
    @Option(help: "test (the default) or validation: evaluate on a seeded held-out part of the training split instead of the test split (for tuning).")
    var evaluationSplit: String?
    @Option(help: "Checkpoint every N steps (0: at the end only) (default: \(defaults.checkpointEvery)).") var checkpointEvery: Int?
    @Option(help: "Compare parameter hashes across ranks every N steps (0: off) (default: \(defaults.hashEvery)).") var hashEvery: Int?
    @Option(help: "Seed of initialisation, head, data order and dropout (default: \(defaults.seed)).") var seed: UInt64?
    @Option(help: "BatchNorm in training: sync (global batch statistics over ranks, the default), local (each rank's slice), frozen (running statistics; scale and shift still trained).")
    var batchNorm: BatchNormMode?
    @Flag(help: "Resize images to the backbone's input when shapes differ.") var resize = false
    @Flag(help: "Random crop and flip augmentation.") var augment = false
    @Option(help: "Stop as diverged (exit 65) after this many consecutive steps with a non-finite loss or gradient (0: never).")
    var maxNonFiniteSteps: Int?
    @Option(help: "auto: continue from the newest complete checkpoint of the run; none: start fresh.")
    var resume: ResumeMode = .none
    @Flag(help: "With --resume auto: continue even though the configuration differs from the checkpoint's in keys that change the results (recorded in the run's configuration-changes.log).")
    var allowChangedConfiguration = false

    @Option(help: ArgumentHelp("Act as if SIGTERM arrived during this step (tests).", visibility: .hidden))
    var simulateSignalAtStep: Int?

    enum ResumeMode: String, ExpressibleByArgument, CaseIterable { case auto, none }

    /// `resolve()` and the preflight checks of the files it names, as a `ValidationError` (exit status 64).
    func resolveAndCheck() throws {
        do {
            try TrainingPreflight.check(try resolve(), learningRateFlag: learningRate != nil)
        } catch let error as ValidationError { throw error } catch {
            throw ValidationError(String(describing: error))
        }
    }

    /// The configuration file (or defaults) with every given flag applied, validated.
    func resolve(defaults: TrainingConfiguration = TrainingConfiguration()) throws -> TrainingConfiguration {
        var c = try config.map { try TrainingConfiguration.load(file: $0) } ?? defaults
        selection.apply(to: &c)
        if let head { c.head = head }
        if !freeze.isEmpty { c.freeze = freeze }
        if let optimizer { c.optimizer = optimizer }
        if let l3rsWeights { c.l3rsWeights = l3rsWeights }
        if let learningRate { c.learningRate = learningRate }
        if let schedule { c.schedule = schedule }
        if let warmupSteps { c.warmupSteps = warmupSteps }
        if let headLearningRateMultiplier { c.headLearningRateMultiplier = headLearningRateMultiplier }
        if let weightDecay { c.weightDecay = weightDecay }
        if let clipNorm { c.clipNorm = clipNorm }
        if let globalBatch { c.globalBatch = globalBatch }
        if let steps { c.steps = steps }
        if let evalEvery { c.evalEvery = evalEvery }
        if let evaluationSplit { c.evaluationSplit = evaluationSplit }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let hashEvery { c.hashEvery = hashEvery }
        if let seed { c.seed = seed }
        if let maxNonFiniteSteps { c.maxNonFiniteSteps = maxNonFiniteSteps }
        if let batchNorm { c.batchNorm = batchNorm }
        c.l3rsWeights = try ShippedLearnedOptimizer.resolve(weights: c.l3rsWeights, optimizer: c.optimizer)
        if resize { c.resize = true }
        if augment { c.augment = true }
        try c.validate()
        if c.optimizer != UpdateRules.learnedOptimizerName { _ = try c.optimizerConfiguration() }
        return c
    }
}
