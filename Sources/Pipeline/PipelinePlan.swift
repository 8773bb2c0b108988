import Foundation
import LearnedOptimizer
import MetaTraining
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
                              steps: c.horizon, usesPretrainedHere: false, allBaselines: true),
            PipelineCondition(name: "unseen", title: "\(c.unseenData), seeded 80/20 split (never meta-trained on)",
                              data: c.unseenData, steps: c.horizon, usesPretrainedHere: false, allBaselines: true),
        ]
        for multiple in c.longHorizons {
            list.append(PipelineCondition(name: "horizon-\(multiple)x", title: "\(c.seenData), \(multiple)× the meta-training horizon",
                                          data: c.seenData, steps: multiple * c.horizon, usesPretrainedHere: false,
                                          allBaselines: c.longHorizonAllBaselines))
        }
        list.append(PipelineCondition(name: "another-init", title: "\(c.seenData) from the backbone pretrained here on \(c.pretrainData)",
                                      data: c.seenData, steps: c.horizon, usesPretrainedHere: true, allBaselines: true))
        return list
    }

    /// A fine-tune of the backbone with the pipeline's shared settings.
    func training(group: String, name: String) -> TrainingConfiguration {
        var t = TrainingConfiguration()
        t.name = name
        t.runsDirectory = folder.appendingPathComponent(group).path
        t.model = configuration.model
        t.weights = configuration.weightsPath
        t.data = configuration.seenData
        t.dataDirectory = configuration.dataDirectory
        t.head = "reinit"
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
        t.optimizer = "adam"
        t.learningRate = configuration.pretrainLearningRate
        t.steps = configuration.pretrainSteps
        t.evalEvery = 0
        t.checkpointEvery = max(configuration.pretrainSteps / 4, 1)
        t.seed = configuration.pretrainSeed
        return PipelineStage(id: "pretrain", kind: .training(t))
    }

    /// The backbone the another-initialisation condition fine-tunes.
    public var pretrainedHereWeights: String { folder.appendingPathComponent("pretrain/final.safetensors").path }

    /// L3RS (label `l3rs`) and each ablation, meta-trained on the seen data.
    public var metaTrainingStages: [(label: String, stage: PipelineStage)] {
        func stage(_ label: String, variant: L3RSVariant, outputs: L3RSLearnedOutputs) -> (String, PipelineStage) {
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
            m.variant = variant
            m.learnedOutputs = outputs
            m.seed = configuration.seed
            m.checkpointEvery = max(configuration.metaSteps / 4, 1)
            m.keepCheckpoints = 1
            m.progressSeconds = 30
            return (label, PipelineStage(id: "meta-train/\(label)", kind: .metaTraining(m)))
        }
        var list = [stage(Self.learnedLabel, variant: .layerEmbedding, outputs: .stepSizeAndMixing)]
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
        t.optimizer = baseline.optimizer
        t.schedule = baseline.schedule
        t.headLearningRateMultiplier = baseline.headMultiplier
        t.learningRate = learningRate
    }

    /// Every baseline at every grid point: short runs on the seen data judged on the meta-validation split.
    public var tuningStages: [(baseline: PipelineBaseline, learningRate: Double, stage: PipelineStage)] {
        baselines.flatMap { baseline in
            (configuration.learningRateGrids[baseline.optimizer] ?? []).map { learningRate in
                var t = training(group: "tune", name: "\(baseline.label)-lr\(PipelineFormat.compact(learningRate))")
                apply(baseline, learningRate: learningRate, to: &t)
                t.steps = configuration.tuningSteps
                t.evalEvery = 0
                t.checkpointEvery = 0
                t.evaluationSplit = "validation"
                return (baseline, learningRate, PipelineStage(id: "tune/\(t.name)", kind: .training(t)))
            }
        }
    }

    /// The evaluation runs, given each baseline's chosen learning rate and the overall best baseline (the only
    /// one run in conditions that do not run every baseline).
    public func evaluationStages(chosen: [PipelineBaseline: Double], best: PipelineBaseline)
        -> [(condition: PipelineCondition, optimizer: String, stage: PipelineStage)] {
        var list: [(PipelineCondition, String, PipelineStage)] = []
        for condition in conditions {
            func base(_ optimizer: String) -> TrainingConfiguration {
                var t = training(group: "eval-\(condition.name)", name: optimizer)
                t.data = condition.data
                t.steps = condition.steps
                if condition.usesPretrainedHere { t.weights = pretrainedHereWeights }
                return t
            }
            var learned = [Self.learnedLabel]
            if configuration.ablationConditions.contains(condition.name) { learned += ablations.map(\.label) }
            for label in learned {
                var t = base(label)
                t.optimizer = UpdateRules.learnedOptimizerName
                t.l3rsWeights = learnedOptimizerPath(label)
                t.learningRate = configuration.baseLearningRate
                list.append((condition, label, PipelineStage(id: "eval-\(condition.name)/\(label)", kind: .training(t))))
            }
            for baseline in baselines where condition.allBaselines || baseline == best {
                guard let learningRate = chosen[baseline] else { continue }
                var t = base(baseline.label)
                apply(baseline, learningRate: learningRate, to: &t)
                list.append((condition, baseline.label, PipelineStage(id: "eval-\(condition.name)/\(baseline.label)", kind: .training(t))))
            }
        }
        return list
    }
}
