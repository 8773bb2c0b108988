import Foundation
import LearnedOptimizer
import Network
import Optimizers
import Runs
import Training

/// Everything that describes one meta-training run of L3RS (docs/method.md §5). Read from a YAML file in
/// jobs/configs/ (unknown keys are errors that list the valid ones), overridden by flags, validated before
/// any work starts, printed once by rank 0 and written into the run folder.
public struct MetaTrainingConfiguration: YAMLConfiguration, RunConfiguration, Equatable, Sendable {
    /// Run name: the folder runs/NAME/.
    public var name: String = "meta-train"
    public var runsDirectory: String = "runs"
    /// The pretrained backbone every inner run starts from (model zoo name and weights file).
    public var model: String = "ccexam-mnist"
    public var weights: String = "data/ccexam/mnist.pth"
    /// The meta-training dataset; only its training split is read (the test split is never touched).
    public var data: String = "fashion-mnist"
    public var dataDirectory: String = "data"
    public var resize: Bool = false
    /// Fraction of the training split held out (seeded) for the meta-validation batches.
    public var validationFraction: Double = 0.1
    /// Images per inner step over all ranks, and per meta-validation batch.
    public var globalBatch: Int = 128
    public var validationBatch: Int = 128
    /// How the inner runs' BatchNorm layers normalise in training mode (`BatchNormMode`, as fine-tuning's
    /// `batchNorm`): local (each rank's slice of the inner batch, the default), sync (the global inner batch's
    /// statistics, summed over ranks) or frozen (the backbone's running statistics, not updated). Held-out losses
    /// always use the running statistics.
    public var batchNorm: BatchNormMode = .local
    /// T: inner steps per truncation (one meta-step each).
    public var truncation: Int = 10
    /// H: inner steps after which an inner run restarts from the backbone with a new head and data order.
    public var horizon: Int = 200
    /// Inner runs advanced in turn, with start offsets staggered evenly over the horizon.
    public var innerRuns: Int = 4
    /// Meta-optimizer steps (truncations) of the whole run.
    public var metaSteps: Int = 100
    /// firstOrder or secondOrder.
    public var order: MetaGradientOrder = .firstOrder
    /// auto (store while the intermediates fit memoryBudgetMB, else recompute), store, or recompute.
    public var memory: UnrollMemoryMode = .auto
    /// Memory the truncation's stored intermediates may use, in MiB (memory auto).
    public var memoryBudgetMB: Double = 2048
    /// Steps per recomputed segment (memory recompute; 0: the whole truncation).
    public var recomputeSegment: Int = 0
    /// The learned optimizer: base optimizers, λ0, identity variant, widths and the initial mixing logit.
    public var baseOptimizers: [OptimizerKind] = [.sgd, .momentum, .adam]
    public var baseLearningRate: Double = 1e-3
    /// layerEmbedding (the paper's, tied to this backbone) or kindAndDepth (embedding-free, transfers).
    public var variant: L3RSVariant = .layerEmbedding
    /// stepSizeAndMixing (the method), or an ablation: stepSizeOnly (μ fixed uniform), mixingOnly (λ fixed at λ0).
    public var learnedOutputs: L3RSLearnedOutputs = .stepSizeAndMixing
    public var hiddenWidth: Int = 32
    public var embeddingWidth: Int = 8
    public var initialPreferredLogit: Double = 20
    /// Half-width of the uniform initial layer embedding (0.01: the layers look almost alike to the MLP at
    /// first; 1: unit scale, so they differ from the start).
    public var embeddingInitialScale: Double = 0.01
    /// The MLP also reads the progress k/H through the run's horizon and 0.1·log H (`FeatureLayout`).
    public var horizonFeatures: Bool = false
    /// Which features the MLP reads: v1 (the original) or v2 (bias-corrected EMAs, standardised statistics,
    /// direction RMS, gradient–direction cosines, loss progress; `L3RSFeatureSet`).
    public var featureSet: L3RSFeatureSet = .v1
    /// The length of every base direction before the mix: unit (unit RMS; λ is the per-element step) or adam
    /// (the layer's Adam RMS, so the initial rule is Adam at λ0; `L3RSDirectionScale`).
    public var directionScale: L3RSDirectionScale = .unit
    /// The schedule λ0 follows over each run's horizon before the MLP's factor (`L3RSStepSchedule`): constant,
    /// cosine, warmup-cosine or linear, warm-up over `baseWarmupFraction` of the horizon.
    public var baseSchedule: ScheduleKind = .constant
    public var baseWarmupFraction: Double = 0
    /// Meta-optimizer Adam: learning rate and global-norm clipping of the meta-gradient.
    public var metaLearningRate: Double = 1e-3
    public var metaClipNorm: Double = 1
    /// How the meta-loss weights the validation losses of a truncation's steps: uniform (docs/method.md §5),
    /// linear (later steps more) or final (the end of the truncation only), for every estimator. Meta-validation
    /// weights its whole held-out runs' steps the same way, so the kept φ is the best by the objective's measure.
    /// See `MetaLossWeighting`.
    public var metaLossWeighting: MetaLossWeighting = .uniform
    /// ρ of the step-size penalty ρ·mean(clip(o_λ)²) = ρ·mean(log(λ/λ0)²) added to the meta-loss; 0: none.
    /// See `MetaObjective`.
    public var stepSizePenalty: Double = 0
    /// Seed of φ's initialisation, the validation split, and every inner run's head and data order.
    public var seed: UInt64 = 0
    /// Checkpoint every N meta-steps (and at the end); 0: only at the end.
    public var checkpointEvery: Int = 20
    public var keepCheckpoints: Int = 2
    /// Resume a checkpoint written by another number of ranks. Global batches and the meta-gradient do not
    /// depend on the world size (up to float summation order), so this is safe, but it is a choice: the
    /// default refuses, naming both sizes.
    public var allowReshard: Bool = false
    /// Plain progress lines every N seconds when not on a terminal.
    public var progressSeconds: Double = 10
    /// Inner runs whose meta-gradients one meta-step averages (the meta-batch of tasks: other heads, data
    /// orders and horizons); at most `innerRuns`. 1: one run per meta-step (docs/method.md §5 as specified).
    public var tasksPerMetaStep: Int = 1
    /// Each inner-run incarnation draws its horizon log-uniformly from [minHorizon, maxHorizon] (seeded by
    /// run and restart), so the rule meets many horizons; 0 for either bound means `horizon`.
    public var minHorizon: Int = 0
    public var maxHorizon: Int = 0
    /// How the meta-gradient is estimated: truncatedBackprop (reverse mode through the unroll) or
    /// antitheticES (the paper's evolution strategies: perturbation pairs of φ spread over the ranks).
    public var estimator: MetaGradientEstimator = .truncatedBackprop
    /// Antithetic ES: perturbation pairs per meta-step (over all ranks) and the perturbation scale σ.
    public var esPairs: Int = 8
    public var esSigma: Double = 0.01
    /// Score φ on `validationTasks` held-out inner runs (head seeds and data orders meta-training never
    /// uses) every N meta-steps and keep the best φ; 0: never (the last φ is the result).
    public var validateEvery: Int = 0
    public var validationTasks: Int = 2
    /// Inner steps of a held-out task's unroll; 0 means `horizon`.
    public var validationHorizon: Int = 0
    /// Consecutive bad meta-steps (a non-finite meta-gradient, or a meta-loss that is non-finite or above
    /// `MetaTrainingRun.explosionFactor` times the run's first) after which the run stops as diverged (exit
    /// status 65), keeping its last good checkpoint and learned optimizer; 0 never stops.
    public var maxNonFiniteSteps: Int = 10

    public init() {}

    /// Keys a resume may change: the stopping point, checkpoint cadence, logging, folders, and the memory mode
    /// (storing or recomputing a truncation's intermediates gives the same meta-gradient).
    public static let keysFreeOnResume: Set<String> = [
        "name", "runsDirectory", "dataDirectory", "metaSteps", "checkpointEvery", "keepCheckpoints", "progressSeconds",
        "allowReshard", "memory", "memoryBudgetMB", "recomputeSegment", "maxNonFiniteSteps",
    ]

    /// The horizon range inner runs draw from (both `horizon` unless configured).
    public var horizonRange: ClosedRange<Int> {
        let lower = minHorizon > 0 ? minHorizon : horizon
        return lower...max(lower, maxHorizon > 0 ? maxHorizon : horizon)
    }

    /// Inner steps of a held-out validation task.
    public var validationSteps: Int { validationHorizon > 0 ? validationHorizon : horizon }

    /// The learned optimizer's configuration (layer names are filled in from the backbone).
    public var l3rsConfiguration: L3RSConfiguration {
        L3RSConfiguration(baseOptimizers: baseOptimizers, baseLearningRate: Float(baseLearningRate), variant: variant,
                          hiddenWidth: hiddenWidth, embeddingWidth: embeddingWidth,
                          initialPreferredLogit: Float(initialPreferredLogit),
                          embeddingInitialScale: Float(embeddingInitialScale), seed: seed,
                          learnedOutputs: learnedOutputs, horizonFeatures: horizonFeatures, featureSet: featureSet,
                          directionScale: directionScale, baseSchedule: baseSchedule,
                          baseWarmupFraction: baseWarmupFraction)
    }

    /// The meta-objective of every truncation.
    public var metaObjective: MetaObjective {
        MetaObjective(weighting: metaLossWeighting, stepSizePenalty: stepSizePenalty)
    }

    /// Every inconsistency, found before any work starts.
    public func validate() throws {
        var problems: [String] = []
        if let problem = RunName.problem(name) { problems.append(problem) }
        if !(validationFraction > 0 && validationFraction < 1) {
            problems.append("validationFraction must be in (0, 1), got \(validationFraction)")
        }
        if globalBatch < 1 || validationBatch < 1 { problems.append("globalBatch and validationBatch must be positive") }
        if truncation < 1 { problems.append("truncation must be positive, got \(truncation)") }
        if innerRuns < 1 { problems.append("innerRuns must be positive, got \(innerRuns)") }
        if metaSteps < 1 { problems.append("metaSteps must be positive, got \(metaSteps)") }
        if !(memoryBudgetMB > 0) { problems.append("memoryBudgetMB must be positive, got \(memoryBudgetMB)") }
        if recomputeSegment < 0 { problems.append("recomputeSegment must be >= 0, got \(recomputeSegment)") }
        if baseOptimizers.isEmpty { problems.append("baseOptimizers must name at least one optimizer") }
        if !(baseWarmupFraction >= 0 && baseWarmupFraction < 1) {
            problems.append("baseWarmupFraction must be in [0, 1), got \(baseWarmupFraction)")
        }
        if directionScale == .adam && !baseOptimizers.contains(.adam) && !baseOptimizers.contains(.adamw) {
            problems.append("directionScale adam scales every direction to Adam's RMS: baseOptimizers must include adam or adamw, got \(baseOptimizers.map(\.rawValue))")
        }
        if !(baseLearningRate > 0 && baseLearningRate.isFinite) { problems.append("baseLearningRate must be positive") }
        if !(embeddingInitialScale >= 0 && embeddingInitialScale.isFinite) {
            problems.append("embeddingInitialScale must be finite and >= 0, got \(embeddingInitialScale)")
        }
        if hiddenWidth < 1 || embeddingWidth < 1 { problems.append("hiddenWidth and embeddingWidth must be positive") }
        if !(metaLearningRate > 0) || !(metaClipNorm > 0) { problems.append("metaLearningRate and metaClipNorm must be positive") }
        if !(stepSizePenalty >= 0 && stepSizePenalty.isFinite) {
            problems.append("stepSizePenalty must be >= 0, got \(stepSizePenalty)")
        }
        if checkpointEvery < 0 { problems.append("checkpointEvery must be >= 0") }
        if keepCheckpoints < 1 { problems.append("keepCheckpoints must be at least 1") }
        if maxNonFiniteSteps < 0 { problems.append("maxNonFiniteSteps must be >= 0 (0: never stop), got \(maxNonFiniteSteps)") }
        if weights.isEmpty { problems.append("weights must name the pretrained backbone") }
        if tasksPerMetaStep < 1 || tasksPerMetaStep > innerRuns {
            problems.append("tasksPerMetaStep must be in 1...innerRuns (\(innerRuns)), got \(tasksPerMetaStep)")
        }
        if minHorizon < 0 || maxHorizon < 0 || (minHorizon > 0 && maxHorizon > 0 && minHorizon > maxHorizon) {
            problems.append("minHorizon and maxHorizon must be >= 0 with minHorizon <= maxHorizon, got \(minHorizon) and \(maxHorizon)")
        }
        if horizonRange.lowerBound < 1 { problems.append("every horizon must be positive, got \(horizonRange)") }
        if esPairs < 1 { problems.append("esPairs must be positive, got \(esPairs)") }
        if !(esSigma > 0 && esSigma.isFinite) { problems.append("esSigma must be positive, got \(esSigma)") }
        if estimator != .truncatedBackprop && (order == .secondOrder || stepSizePenalty > 0) {
            problems.append("\(estimator.rawValue) scores the (metaLossWeighting-weighted) mean of held-out losses: it takes no order (secondOrder) or stepSizePenalty")
        }
        if validateEvery < 0 || validationTasks < 1 || validationHorizon < 0 {
            problems.append("validateEvery and validationHorizon must be >= 0 and validationTasks positive")
        }
        guard problems.isEmpty else { throw ConfigurationError.invalid(problems) }
    }
}
