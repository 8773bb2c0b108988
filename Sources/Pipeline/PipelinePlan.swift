import Foundation
import LearnedOptimizer
import MetaTraining
import Optimizers
import Training

/// Every stage of a pipeline, derived from its configuration: the other backbone, meta-training and its
/// ablations, the tuning grid of every baseline, and (once the learning rates are chosen) the evaluation
/// runs of every optimizer in every condition.
public struct PipelinePlan: Sendable {
    public let configuration: PipelineConfiguration

    public init(_ configuration: PipelineConfiguration) { self.configuration = configuration }

    /// RUNS/NAME/.
    public var folder: URL { URL(fileURLWithPath: configuration.runsDirectory).appendingPathComponent(configuration.name) }

    /// The learned optimizer's label in tables (the method itself).
    public static let learnedLabel = "l3rs"

    public var ablations: [PipelineAblation] { configuration.ablations.compactMap(PipelineAblation.init(rawValue:)) }

    /// L3RS meta-trained again with meta-training seeds seed + K (`metaTrainingSeeds`), each an arm of its own
    /// (`l3rs-metaK`) in every condition L3RS runs in.
    public var repeatLabels: [String] { (1..<max(configuration.metaTrainingSeeds, 1)).map { "\(Self.learnedLabel)-meta\($0)" } }

    public var baselines: [PipelineBaseline] {
        configuration.baselineOptimizers.flatMap { optimizer in
            configuration.schedules.flatMap { schedule in
                configuration.headMultipliers.map { PipelineBaseline(optimizer: optimizer, schedule: schedule, headMultiplier: $0) }
            }
        }
    }

    public var conditions: [PipelineCondition] {
        let c = configuration
        var list = [
            PipelineCondition(name: "seen", title: "\(c.seenData) test split (meta-training data)", data: c.seenData,
                              steps: c.horizon, usesPretrainedHere: false),
            PipelineCondition(name: "unseen", title: "\(c.unseenData), seeded 80/20 split (never meta-trained on)",
                              data: c.unseenData, steps: c.horizon, usesPretrainedHere: false),
        ]
        for multiple in c.longHorizons {
            list.append(PipelineCondition(name: "horizon-\(multiple)x", title: "\(c.seenData), \(multiple)× the meta-training horizon",
                                          data: c.seenData, steps: multiple * c.horizon, usesPretrainedHere: false))
        }
        list.append(PipelineCondition(name: "another-init", title: "\(c.seenData) from the backbone pretrained here on \(c.pretrainData)",
                                      data: c.seenData, steps: c.horizon, usesPretrainedHere: true))
        return list
    }

    /// Every horizon a comparison runs at (H and its multiples): baselines are tuned at each.
    public var horizons: [Int] { [configuration.horizon] + configuration.longHorizons.map { $0 * configuration.horizon } }

    /// The training seed of evaluation seed k (head initialisation and data order; the held-out split keeps
    /// the pipeline's seed).
    func seed(_ k: Int) -> UInt64 { configuration.seed &+ UInt64(k) }

    /// The metrics key of evaluation runs' accuracy curves.
    public var curveKey: String { configuration.curveImages > 0 ? "curve_accuracy" : "test_accuracy" }

    /// A fine-tune of the backbone with the pipeline's shared settings.
    func training(group: String, name: String) -> TrainingConfiguration {
        var t = TrainingConfiguration()
        t.name = name
        t.runsDirectory = folder.appendingPathComponent(group).path
        t.model = configuration.model
        t.weights = configuration.weightsPath
        t.data = configuration.seenData
        t.dataDirectory = configuration.dataDirectory
        t.head = .reinit
        t.resize = configuration.resize
        t.globalBatch = configuration.globalBatch
        t.evalEvery = configuration.evalEvery
        t.checkpointEvery = configuration.evalEvery
        t.keepCheckpoints = 1
        t.progressSeconds = 30
        t.seed = configuration.seed
        t.validationFraction = configuration.validationFraction
        t.validationSeed = configuration.seed
        t.evaluationLimit = configuration.evaluationLimit
        return t
    }

    public var pretrainStage: PipelineStage {
        var t = training(group: ".", name: "pretrain")
        t.runsDirectory = folder.path
        t.weights = ""
        t.data = configuration.pretrainData
        t.optimizer = .adam
        t.learningRate = configuration.pretrainLearningRate
        t.steps = configuration.pretrainSteps
        t.evalEvery = 0
        t.checkpointEvery = max(configuration.pretrainSteps / 4, 1)
        t.seed = configuration.pretrainSeed
        return PipelineStage(id: "pretrain", kind: .training(t))
    }

    /// The backbone the another-initialisation condition fine-tunes.
    public var pretrainedHereWeights: String { folder.appendingPathComponent("pretrain/final.safetensors").path }

    /// L3RS (label `l3rs`) and each ablation, meta-trained on the seen data, from the configured λ0 and base
    /// schedule.
    public var metaTrainingStages: [(label: String, stage: PipelineStage)] { metaTrainingStages(startingFrom: nil) }

    /// The tuned baseline L3RS starts from under `startFromTunedBaseline`: the best-ranked Adam or AdamW
    /// baseline with head multiplier 1 at the horizon (nil when the key is off or no such baseline was tuned).
    public func startingBaseline(_ tuning: PipelineTuning?) -> (baseline: PipelineBaseline, learningRate: Double)? {
        guard configuration.startFromTunedBaseline, let tuning,
              let baseline = tuning.ranking.first(where: { ($0.optimizer == .adam || $0.optimizer == .adamw) && $0.headMultiplier == 1 }),
              let rate = tuning.learningRates[baseline] else { return nil }
        return (baseline, rate)
    }

    /// The meta-training stages; with `startFromTunedBaseline` and the tuning at the horizon, λ0 and the base
    /// schedule are the tuned baseline's (`startingBaseline`).
    public func metaTrainingStages(startingFrom tuning: PipelineTuning?) -> [(label: String, stage: PipelineStage)] {
        let start = startingBaseline(tuning)
        func stage(_ label: String, variant: L3RSVariant, outputs: L3RSLearnedOutputs, metaSeed k: Int = 0) -> (String, PipelineStage) {
            var m = MetaTrainingConfiguration()
            m.name = label
            m.runsDirectory = folder.appendingPathComponent("meta-train").path
            m.model = configuration.model
            m.weights = configuration.weightsPath
            m.data = configuration.seenData
            m.dataDirectory = configuration.dataDirectory
            m.resize = configuration.resize
            m.validationFraction = configuration.validationFraction
            m.globalBatch = configuration.globalBatch
            m.validationBatch = configuration.globalBatch
            m.truncation = configuration.truncation
            m.horizon = configuration.horizon
            m.innerRuns = configuration.innerRuns
            m.metaSteps = configuration.metaSteps
            m.baseLearningRate = configuration.baseLearningRate
            m.metaLearningRate = configuration.metaLearningRate
            m.initialPreferredLogit = configuration.initialPreferredLogit
            m.stepSizePenalty = configuration.stepSizePenalty
            m.tasksPerMetaStep = configuration.tasksPerMetaStep
            m.minHorizon = configuration.minHorizon
            m.maxHorizon = configuration.maxHorizon
            m.estimator = configuration.metaEstimator
            m.order = configuration.metaGradientOrder
            m.metaLossWeighting = configuration.metaLossWeighting
            m.validateEvery = configuration.validateEvery
            m.validationTasks = configuration.validationTasks
            m.horizonFeatures = configuration.horizonFeatures
            m.featureSet = configuration.featureSet
            m.directionScale = configuration.directionScale
            m.baseSchedule = start?.baseline.schedule ?? configuration.baseSchedule
            if let start { m.baseLearningRate = start.learningRate }
            // Warm-up as the baselines have it: warmup-cosine only (`warmupSteps(_:steps:)`).
            m.baseWarmupFraction = m.baseSchedule == .warmupCosine ? configuration.warmupFraction : 0
            m.embeddingInitialScale = configuration.embeddingInitialScale
            m.variant = variant
            m.learnedOutputs = outputs
            m.seed = configuration.seed &+ UInt64(k)
            m.checkpointEvery = max(configuration.metaSteps / 4, 1)
            m.keepCheckpoints = 1
            m.progressSeconds = 30
            return (label, PipelineStage(id: "meta-train/\(label)", kind: .metaTraining(m)))
        }
        var list = [stage(Self.learnedLabel, variant: .layerEmbedding, outputs: .stepSizeAndMixing)]
        for (k, label) in repeatLabels.enumerated() {
            list.append(stage(label, variant: .layerEmbedding, outputs: .stepSizeAndMixing, metaSeed: k + 1))
        }
        for ablation in ablations {
            list.append(stage(ablation.label, variant: ablation.variant, outputs: ablation.learnedOutputs))
        }
        return list
    }

    /// The learned optimizer file a meta-training stage writes.
    func learnedOptimizerPath(_ label: String) -> String {
        folder.appendingPathComponent("meta-train/\(label)/l3rs.safetensors").path
    }

    /// A baseline's fine-tune settings at one learning rate.
    func apply(_ baseline: PipelineBaseline, learningRate: Double, to t: inout TrainingConfiguration) {
        t.optimizer = TrainingOptimizer(baseline.optimizer)
        t.schedule = baseline.schedule
        t.warmupSteps = warmupSteps(baseline, steps: t.steps)
        t.headLearningRateMultiplier = baseline.headMultiplier
        t.weightDecay = configuration.weightDecays[baseline.optimizer] ?? 0
        t.learningRate = learningRate
    }

    /// Warm-up of a warmup-cosine baseline over a run of `steps`.
    func warmupSteps(_ baseline: PipelineBaseline, steps: Int) -> Int {
        baseline.schedule == .warmupCosine ? Int((configuration.warmupFraction * Double(steps)).rounded()) : 0
    }

    /// A run on the seen data judged on the held-out (meta-validation) split: tuning and the oracle.
    func heldOutRun(group: String, name: String, steps: Int) -> TrainingConfiguration {
        var t = training(group: group, name: name)
        t.steps = steps
        t.evalEvery = 0
        t.checkpointEvery = 0
        t.evaluationSplit = .validation
        return t
    }

    /// The tuning folder of a horizon: tune/ at H, tune-horizon-Kx/ at K·H.
    func tuningGroup(steps: Int) -> String {
        steps == configuration.horizon ? "tune" : "tune-horizon-\(steps / configuration.horizon)x"
    }

    /// `baselines` at every point of their grids, each run for `steps` (the horizon they are compared at) on
    /// the seen data with `tuningSeeds` seeds (one after another) and judged on the held-out split.
    public func tuningStages(steps: Int, baselines: [PipelineBaseline])
        -> [(baseline: PipelineBaseline, learningRate: Double, stage: PipelineStage)] {
        let group = tuningGroup(steps: steps)
        return baselines.flatMap { baseline in
            (configuration.learningRateGrids[baseline.optimizer] ?? []).flatMap { learningRate in
                heldOutRuns(group: group, name: "\(baseline.label)-lr\(PipelineFormat.compact(learningRate))", steps: steps).map { run in
                    var t = run
                    apply(baseline, learningRate: learningRate, to: &t)
                    return (baseline, learningRate, PipelineStage(id: "\(group)/\(t.name)", kind: .training(t)))
                }
            }
        }
    }

    /// `heldOutRun` with each of the `tuningSeeds` seeds; the first keeps the plain name (and so the folders of
    /// runs made before the key existed), the others end in -seedK.
    func heldOutRuns(group: String, name: String, steps: Int) -> [TrainingConfiguration] {
        (0..<configuration.tuningSeeds).map { k in
            var t = heldOutRun(group: group, name: k == 0 ? name : "\(name)-seed\(k)", steps: steps)
            t.seed = seed(k)
            return t
        }
    }

    /// Every baseline's tuning at H.
    public var tuningStages: [(baseline: PipelineBaseline, learningRate: Double, stage: PipelineStage)] {
        tuningStages(steps: configuration.horizon, baselines: baselines)
    }

    /// The baselines every condition compares against, given the tuning at H: all, or the best
    /// `evaluatedBaselines` at H (the ones tuned again at the longer horizons).
    public func evaluatedBaselines(_ atHorizon: PipelineTuning) -> [PipelineBaseline] {
        configuration.evaluatedBaselines == 0 ? baselines : Array(atHorizon.ranking.prefix(configuration.evaluatedBaselines))
    }

    /// The schedule oracle's configurations on the best base optimizer (chosen at H), each run for H steps on
    /// the seen data with `tuningSeeds` seeds (one after another) and judged on the held-out split.
    public func oracleStages(_ atHorizon: PipelineTuning) -> [(schedule: OracleSchedule, stage: PipelineStage)] {
        let best = atHorizon.best
        let schedules = ScheduleOracle.schedules(
            count: configuration.oracleConfigurations, seed: configuration.seed, horizon: configuration.horizon, baseline: best,
            learningRate: atHorizon.learningRates[best] ?? configuration.baseLearningRate,
            warmupSteps: warmupSteps(best, steps: configuration.horizon))
        return schedules.enumerated().flatMap { index, schedule in
            heldOutRuns(group: "oracle", name: String(format: "config-%03d", index), steps: configuration.horizon).map { run in
                var t = run
                schedule.apply(optimizer: best.optimizer, weightDecay: configuration.weightDecays[best.optimizer] ?? 0, to: &t)
                return (schedule, PipelineStage(id: "oracle/\(t.name)", kind: .training(t)))
            }
        }
    }

    /// The label of the schedule oracle's arm.
    public static let oracleLabel = "oracle"

    /// One evaluation run: an arm in a condition with one seed.
    public struct EvaluationRun: Sendable {
        public var condition: PipelineCondition
        public var arm: String
        public var kind: ArmKind
        public var seed: Int
        public var stage: PipelineStage
    }

    public enum ArmKind: String, Sendable {
        case learned, baseline, oracle
    }

    /// The evaluation runs: in every condition, L3RS and its repeats (and the ablations where configured), the evaluated
    /// baselines with the learning rates tuned at the condition's horizon, and on the seen data the selected
    /// oracle schedule; each over `seeds` seeds with the same seeds, steps and data for every arm.
    /// `tuning` maps a horizon (steps) to its tuning; `oracle` is the selected schedule, if any.
    public func evaluationStages(tuning: [Int: PipelineTuning], oracle: OracleSchedule?) -> [EvaluationRun] {
        var list: [EvaluationRun] = []
        let c = configuration
        guard let atHorizon = tuning[c.horizon] else { return [] }
        for condition in conditions {
            func base(_ arm: String, seed k: Int) -> TrainingConfiguration {
                var t = training(group: "eval-\(condition.name)/\(arm)", name: "seed-\(k)")
                t.data = condition.data
                t.steps = condition.steps
                t.seed = seed(k)
                t.checkpointEvery = 0
                t.curveEvaluationLimit = c.curveImages
                if condition.usesPretrainedHere { t.weights = pretrainedHereWeights }
                return t
            }
            func add(_ arm: String, _ kind: ArmKind, _ configure: (inout TrainingConfiguration) -> Void) {
                for k in 0..<c.seeds {
                    var t = base(arm, seed: k)
                    configure(&t)
                    list.append(EvaluationRun(condition: condition, arm: arm, kind: kind, seed: k,
                                              stage: PipelineStage(id: "eval-\(condition.name)/\(arm)/seed-\(k)", kind: .training(t))))
                }
            }
            var learned = [Self.learnedLabel] + repeatLabels
            if c.ablationConditions.contains(condition.name) { learned += ablations.map(\.label) }
            for label in learned {
                add(label, .learned) { t in
                    t.optimizer = .l3rs
                    t.l3rsWeights = learnedOptimizerPath(label)
                    t.learningRate = c.baseLearningRate
                }
            }
            let tuned = tuning[condition.steps] ?? atHorizon
            for baseline in evaluatedBaselines(atHorizon) {
                guard let learningRate = tuned.learningRates[baseline] else { continue }
                add(baseline.label, .baseline) { apply(baseline, learningRate: learningRate, to: &$0) }
            }
            if condition.name == "seen", let oracle {
                let optimizer = atHorizon.best.optimizer
                add(Self.oracleLabel, .oracle) { oracle.apply(optimizer: optimizer, weightDecay: c.weightDecays[optimizer] ?? 0, to: &$0) }
            }
        }
        return list
    }
}
