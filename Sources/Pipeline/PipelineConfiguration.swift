import Choices
import Foundation
import LearnedOptimizer
import MetaTraining
import Optimizers
import Training

/// Everything that describes one run of the paper's pipeline (docs/method.md §6): the backbone, the other
/// initialisation, meta-training and its ablations, the baselines and their learning-rate grids, and the
/// evaluation conditions. Read from YAML (unknown keys are errors that list the valid ones); the default is
/// embedded in the binary (`DefaultPipelineConfiguration`). Keys not listed here keep the defaults of the
/// fine-tuning and meta-training configurations, so improvements to those defaults reach the pipeline.
public struct PipelineConfiguration: YAMLConfiguration, Equatable, Sendable {
    /// Pipeline name: every stage's folder lives under RUNS/NAME/, next to report.md and report.html.
    public var name: String = "pipeline"
    public var runsDirectory: String = "runs"
    /// Folder that `make data` fills; `weights` is relative to it unless absolute.
    public var dataDirectory: String = "data"
    /// The pretrained backbone (model zoo name) and its weights; the classification head is re-initialised.
    public var model: String = "ccexam-mnist"
    public var weights: String = "ccexam/mnist.pth"
    /// Meta-training data (the "seen" condition evaluates on its test split).
    public var seenData: String = "fashion-mnist"
    /// Data never used in meta-training ("unseen"; single-split datasets get DataSplits' seeded 80/20 split).
    public var unseenData: String = "animal-mnist"
    /// Resize images (and repeat grey channels) when a dataset's shape differs from the backbone's input.
    public var resize: Bool = false
    public var globalBatch: Int = 128
    /// H: the meta-training horizon and the fine-tuning length of the seen, unseen and another-initialisation
    /// conditions.
    public var horizon: Int = 100
    /// Longer-horizon conditions, as multiples of H, on the seen data.
    public var longHorizons: [Int] = [2, 4]
    /// Evaluate every N steps: the points of every evaluation run's accuracy curve, from which the mean curves,
    /// "steps to reach" (interpolated between points) and the speed-up come.
    public var evalEvery: Int = 10
    /// The accuracy curve of an evaluation run is measured on the first N images of its test split (a fixed
    /// subset, the same for every arm and seed); the final accuracy on the whole split. 0: curves on the
    /// whole split.
    public var curveImages: Int = 1000
    /// Seeds per arm in every evaluation condition: each changes the head initialisation and the data order;
    /// means and 95% t-intervals are over these seeds.
    public var seeds: Int = 5
    /// Bootstrap resamples of the seeds behind each speed-up's 95% interval.
    public var bootstrapResamples: Int = 2000
    /// Evaluate every fine-tune on only the first N images of its evaluation split (0: all). Only for quick
    /// checks (the test suite's tiny pipeline): the report says so when it is set.
    public var evaluationLimit: Int = 0
    /// Seed of heads, data orders, φ and the meta-validation split.
    public var seed: UInt64 = 0

    /// The other initialisation: the same architecture trained here from a seeded random start.
    public var pretrainData: String = "mnist-5k"
    public var pretrainSteps: Int = 200
    public var pretrainLearningRate: Double = 1e-3
    public var pretrainSeed: UInt64 = 1

    /// Meta-training (other keys keep MetaTrainingConfiguration's defaults).
    public var metaSteps: Int = 20
    public var truncation: Int = 10
    public var innerRuns: Int = 2
    public var metaLearningRate: Double = 1e-2
    /// λ0 of the learned optimizer (docs/design.md, "Pipeline defaults", for why 3e-3 and meta-lr 1e-2).
    public var baseLearningRate: Double = 3e-3
    /// The initial o_μ logit of Adam (docs/method.md §4). 4 gives μ_adam ≈ 0.96, so the mix gets a meta-gradient;
    /// 20 (meta-training's own default) starts at exactly normalised Adam but freezes μ.
    public var initialPreferredLogit: Double = 4
    /// ρ of the meta-objective's ρ·mean(log(λ/λ0)²): anchors λ against truncated meta-training's
    /// short-horizon bias, which otherwise shrinks every step size (docs/design.md).
    public var stepSizePenalty: Double = 0.1
    /// The meta-batch, horizon range, estimator and held-out validation of meta-training (the keys of the
    /// same names in MetaTrainingConfiguration; `metaEstimator` is its `estimator`, `metaGradientOrder` its
    /// `order`). The validation tasks run `horizon` steps.
    public var tasksPerMetaStep: Int = 1
    public var minHorizon: Int = 0
    public var maxHorizon: Int = 0
    public var metaEstimator: MetaGradientEstimator = .truncatedBackprop
    public var metaGradientOrder: MetaGradientOrder = .firstOrder
    /// How the meta-objective weights the held-out losses of a truncation (`MetaLossWeighting`); with truncation
    /// = horizon, linear or final aim meta-training (and the validation that keeps the best φ) at the end of the
    /// run, which the final-accuracy speed-up counts, rather than at the whole run's mean.
    public var metaLossWeighting: MetaLossWeighting = .uniform
    public var validateEvery: Int = 0
    public var validationTasks: Int = 2
    /// The learned optimizer reads the progress k/H through its run (`L3RSConfiguration.horizonFeatures`).
    public var horizonFeatures: Bool = false
    /// The learned optimizer's feature set (`L3RSConfiguration.featureSet`): v1 or v2.
    public var featureSet: L3RSFeatureSet = .v1
    /// The length of every base direction before the mix (`L3RSConfiguration.directionScale`): unit or adam.
    public var directionScale: L3RSDirectionScale = .unit
    /// The schedule the learned optimizer's λ0 follows over each run (`L3RSConfiguration.baseSchedule`), with
    /// the baselines' `warmupFraction` for warmup-cosine and linear.
    public var baseSchedule: ScheduleKind = .constant
    /// Meta-train after the learning-rate tuning at the horizon, starting L3RS from the best tuned Adam (or
    /// AdamW) baseline with head multiplier 1: its tuned rate is λ0 and its schedule the base schedule, in place
    /// of `baseLearningRate` and `baseSchedule`. With `directionScale: adam` (required) the untrained rule is
    /// then that baseline, chosen on held-out data like every baseline, and meta-training learns corrections.
    public var startFromTunedBaseline: Bool = false
    /// Half-width of the uniform initial layer embeddings (`MetaTrainingConfiguration.embeddingInitialScale`):
    /// 0.01 makes the layers look alike to the MLP at first, 1 lets λ differ per layer from the first meta-step.
    public var embeddingInitialScale: Double = 0.01
    /// Fraction of the seen data's training split held out for meta-validation: L3RS's meta-objective and the
    /// baselines' learning-rate choice use the same held-out images.
    public var validationFraction: Double = 0.1
    /// How many times L3RS is meta-trained, with meta-training seeds seed, seed + 1, … (φ's initialisation, the
    /// inner runs' heads and data orders, the meta-validation split and tasks): the first is `l3rs`, the others
    /// `l3rs-metaK`, each evaluated as an arm in every condition. Shows how much of a result is the luck of one
    /// meta-training run. The baselines' held-out split keeps `seed`.
    public var metaTrainingSeeds: Int = 1
    /// Ablations, each meta-trained like L3RS: stepSizeOnly (μ fixed uniform), mixingOnly (λ fixed at λ0),
    /// embeddingFree (the kindAndDepth variant).
    public var ablations: [String] = ["stepSizeOnly", "mixingOnly", "embeddingFree"]
    /// Conditions the ablations are evaluated on (seen, unseen, another-init).
    public var ablationConditions: [String] = ["seen", "unseen"]

    /// Baselines: every optimizer × schedule × head multiplier, each with its learning rate tuned on its grid.
    public var baselineOptimizers: [OptimizerKind] = [.adam, .adamw, .momentum]
    /// constant, cosine, warmup-cosine (warm-up over `warmupFraction` of the run), linear.
    public var schedules: [ScheduleKind] = [.constant, .cosine, .warmupCosine]
    public var headMultipliers: [Double] = [1, 10]
    /// Warm-up of the warmup-cosine baselines, as a fraction of the run's steps.
    public var warmupFraction: Double = 0.1
    /// Weight decay of the baselines by optimizer (AdamW's decoupled decay; PyTorch's default 0.01); others 0.
    public var weightDecays: ChoiceKeyed<OptimizerKind, Double> = [.adamw: 0.01]
    /// The log grid of learning rates per baseline optimizer.
    public var learningRateGrids: ChoiceKeyed<OptimizerKind, [Double]> = [
        .adam: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], .adamw: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        .momentum: [1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
    ]
    /// Held-out runs per learning-rate grid point and per oracle configuration, with the evaluation seeds'
    /// first `tuningSeeds` head initialisations and data orders; the choice goes by their mean accuracy. One
    /// seed's held-out accuracy varies by about half a point here, as much as neighbouring rates differ, so
    /// one seed can choose by noise (docs/results/pipeline-ccexam-fine/).
    public var tuningSeeds: Int = 1
    /// How many tuned baselines every condition evaluates: the best by held-out accuracy at the horizon
    /// (tuned again at each longer horizon). 0: every baseline (each tuned at every horizon).
    public var evaluatedBaselines: Int = 1
    /// Configurations of the schedule oracle's seeded random search (per-layer-group multipliers and decay
    /// shapes, warm-up, base rate on the best base optimizer), each judged on the held-out split at H.
    public var oracleConfigurations: Int = 100

    public init() {}

    /// The backbone's weights file: `weights` under `dataDirectory` unless it is an absolute path.
    public var weightsPath: String {
        weights.hasPrefix("/") ? weights : URL(fileURLWithPath: dataDirectory).appendingPathComponent(weights).path
    }

    /// Every inconsistency, found before any work starts.
    public func validate() throws {
        var problems: [String] = []
        if name.isEmpty || name.contains("/") { problems.append("name must be a non-empty folder name, got '\(name)'") }
        if globalBatch < 1 { problems.append("globalBatch must be positive, got \(globalBatch)") }
        if truncation < 1 { problems.append("truncation must be positive, got \(truncation)") }
        if longHorizons.contains(where: { $0 < 2 }) { problems.append("longHorizons must be multiples of H of at least 2") }
        if Set(longHorizons).count != longHorizons.count { problems.append("longHorizons must not repeat a multiple, got \(longHorizons)") }
        if evalEvery < 1 || horizon % evalEvery != 0 {
            problems.append("evalEvery (\(evalEvery)) must be positive and divide the horizon (\(horizon))")
        }
        if evaluationLimit < 0 { problems.append("evaluationLimit must be >= 0 (0: the whole split)") }
        if pretrainSteps < 1 || metaSteps < 1 || innerRuns < 1 {
            problems.append("pretrainSteps, metaSteps and innerRuns must be positive")
        }
        if seeds < 1 { problems.append("seeds must be at least 1, got \(seeds)") }
        if tuningSeeds < 1 { problems.append("tuningSeeds must be at least 1, got \(tuningSeeds)") }
        if metaTrainingSeeds < 1 { problems.append("metaTrainingSeeds must be at least 1, got \(metaTrainingSeeds)") }
        if curveImages < 0 { problems.append("curveImages must be >= 0 (0: curves on the whole test split), got \(curveImages)") }
        if bootstrapResamples < 1 { problems.append("bootstrapResamples must be positive, got \(bootstrapResamples)") }
        if evaluatedBaselines < 0 { problems.append("evaluatedBaselines must be >= 0 (0: every baseline), got \(evaluatedBaselines)") }
        if oracleConfigurations < 0 { problems.append("oracleConfigurations must be >= 0 (0: no schedule oracle), got \(oracleConfigurations)") }
        for (optimizer, decay) in weightDecays.entries.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !(decay >= 0 && decay.isFinite) {
            problems.append("weightDecays.\(optimizer.rawValue) must be finite and >= 0, got \(decay)")
        }
        if !(warmupFraction >= 0 && warmupFraction < 1) { problems.append("warmupFraction must be in [0, 1), got \(warmupFraction)") }
        if !(validationFraction > 0 && validationFraction < 1) {
            problems.append("validationFraction must be in (0, 1), got \(validationFraction)")
        }
        problems += Suggestion.unknownEntries(of: "ablations", ablations, known: PipelineAblation.validNames)
        problems += Suggestion.unknownEntries(of: "ablationConditions", ablationConditions, known: ["seen", "unseen", "another-init"])
        if baselineOptimizers.isEmpty || schedules.isEmpty || headMultipliers.isEmpty {
            problems.append("baselineOptimizers, schedules and headMultipliers must each name at least one")
        }
        for optimizer in baselineOptimizers {
            guard let grid = learningRateGrids[optimizer] else {
                problems.append("learningRateGrids has no grid for baseline optimizer '\(optimizer.rawValue)'"); continue
            }
            if grid.isEmpty || grid.contains(where: { !($0 > 0 && $0.isFinite) }) {
                problems.append("learningRateGrids.\(optimizer.rawValue) must list positive learning rates")
            }
        }
        if headMultipliers.contains(where: { !($0 > 0) }) { problems.append("headMultipliers must be positive") }
        if !(baseLearningRate > 0 && baseLearningRate.isFinite) { problems.append("baseLearningRate must be positive, got \(baseLearningRate)") }
        if !(stepSizePenalty >= 0 && stepSizePenalty.isFinite) { problems.append("stepSizePenalty must be >= 0, got \(stepSizePenalty)") }
        if !initialPreferredLogit.isFinite { problems.append("initialPreferredLogit must be finite") }
        if startFromTunedBaseline {
            if directionScale != .adam {
                problems.append("startFromTunedBaseline starts L3RS at a tuned Adam baseline, which needs directionScale: adam (got \(directionScale.rawValue))")
            }
            if !baselineOptimizers.contains(where: { $0 == .adam || $0 == .adamw }) || !headMultipliers.contains(1) {
                problems.append("startFromTunedBaseline needs adam or adamw among baselineOptimizers and 1 among headMultipliers")
            }
        }
        // The meta-training keys are checked where they are defined, before any stage runs.
        guard problems.isEmpty else { throw ConfigurationError.invalid(problems) }
        for (_, stage) in PipelinePlan(self).metaTrainingStages {
            if case let .metaTraining(meta) = stage.kind { try meta.validate() }
        }
    }
}
