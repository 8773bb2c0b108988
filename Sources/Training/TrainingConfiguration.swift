import Choices
import Datasets
import Foundation
import Network
import Optimizers
import Runs

/// Everything that describes one fine-tuning or pre-training run. Read from a YAML file in jobs/configs/
/// (keys as below; unknown keys are errors that list the valid ones), then overridden by command-line flags,
/// validated before any work starts, printed once by rank 0 and written into the run folder.
public struct TrainingConfiguration: YAMLConfiguration, RunConfiguration, Equatable, Sendable {
    /// Run name: the folder runs/NAME/.
    public var name: String = "finetune"
    /// Folder holding run folders.
    public var runsDirectory: String = "runs"
    /// Model name from the model zoo (ccexam-mnist, ccexam-usps, ccexam-svhn, mlp, resnet).
    public var model: String = "ccexam-mnist"
    /// Pretrained weights (.pth or .safetensors); empty means a seeded random initialisation (pre-training).
    public var weights: String = ""
    /// Dataset name (fashion-mnist, mnist-5k, animal-mnist, digits, npy:PATH).
    public var data: String = "fashion-mnist"
    /// Folder that `make data` fills.
    public var dataDirectory: String = "data"
    /// keep: use the pretrained head; reinit: re-initialise the classification head from `seed`.
    public var head: HeadInitialisation = .reinit
    /// Parameters whose names match one of these glob patterns (`features.*`) are not updated.
    public var freeze: [String] = []
    /// Base optimizer of the baseline trainer (sgd, momentum, nesterov, adam, adamw, lion, rmsprop), or l3rs
    /// for a learned optimizer.
    public var optimizer: TrainingOptimizer = .adam
    /// optimizer l3rs: the learned-optimizer file (l3rs.safetensors of a meta-training run). Empty means the
    /// untrained L3RS, which is normalised Adam with λ0 = learningRate.
    public var l3rsWeights: String = ""
    public var learningRate: Double = 1e-3
    /// constant, cosine, warmup-cosine or linear.
    public var schedule: ScheduleKind = .constant
    public var warmupSteps: Int = 0
    /// Per-layer-group learning-rate multipliers (groups of `LayerGroups`: first-conv, conv, hidden, head),
    /// on top of headLearningRateMultiplier; a group not named keeps 1.
    public var groupMultipliers: [String: Double] = [:]
    /// Per-layer-group decay shapes (constant, cosine, linear), each after the run's warm-up of `warmupSteps`
    /// and over `steps`; a group not named follows `schedule`. The pipeline's schedule oracle writes these.
    public var groupSchedules: [String: String] = [:]
    /// Learning-rate multiplier of the classification head.
    public var headLearningRateMultiplier: Double = 1
    public var weightDecay: Double = 0
    /// Global-norm gradient clipping; 0 turns it off.
    public var clipNorm: Double = 0
    /// Images per step over all ranks; every rank takes a fixed slice.
    public var globalBatch: Int = 128
    public var steps: Int = 500
    /// Evaluate on the test split every N steps (and at the end); 0: only at the end.
    public var evalEvery: Int = 100
    /// Checkpoint every N steps (and at the end); 0: only at the end.
    public var checkpointEvery: Int = 100
    /// Compare a hash of the parameters across ranks every N steps; 0 turns it off.
    public var hashEvery: Int = 50
    /// error: stop with a message naming the step and ranks; rebroadcast: copy rank 0's parameters.
    public var onHashMismatch: HashMismatchPolicy = .error
    /// Gradient allreduce bucket size in elements.
    public var bucketElements: Int = 1 << 18
    /// Plain progress lines every N seconds when not on a terminal.
    public var progressSeconds: Double = 10
    public var seed: UInt64 = 0
    /// Random crop and flip augmentation of training images.
    public var augment: Bool = false
    /// Resize images (and repeat grey channels) when the data's shape differs from the backbone's input.
    public var resize: Bool = false
    /// How BatchNorm layers normalise while training: sync (the global batch's statistics, summed over ranks;
    /// 1 and R ranks train the same model), local (each rank's slice), frozen (running statistics, not
    /// updated; scale and shift still trained). Evaluation always uses the running statistics.
    public var batchNorm: BatchNormMode = .sync
    /// replicated: every rank holds the whole optimizer state; sharded: each rank holds the state of its own
    /// layers only (ZeRO stage 1, `OptimizerStateMode`), the same parameters for about 1/R of the state memory.
    public var optimizerState: OptimizerStateMode = .replicated
    /// Gradient accumulation: each rank's slice of the global batch runs forward and backward in this many
    /// micro-batches (`MicroBatches`), for the same gradient with 1/k of the activation memory. BatchNorm then
    /// normalises with each micro-batch's statistics.
    public var microBatches: Int = 1
    /// Complete checkpoints kept in the run folder.
    public var keepCheckpoints: Int = 2
    /// Allow resuming a checkpoint written by another number of ranks (the global batches are the same for
    /// any world size, so only the order of floating-point sums changes).
    public var allowReshard: Bool = false
    /// test: evaluate on the dataset's test split (the default). validation: hold `validationFraction` of the
    /// training split out (seeded by `validationSeed`), train on the rest and evaluate on the held-out part, so
    /// hyperparameters can be tuned without ever reading the test split (the pipeline's baseline tuning).
    public var evaluationSplit: EvaluationSplit = .test
    /// evaluationSplit validation: the fraction of the training split held out.
    public var validationFraction: Double = 0.1
    /// evaluationSplit validation: the split's seed. The split is the one meta-training makes with the same
    /// seed and fraction, so baselines are tuned on exactly the learned optimizer's meta-validation images.
    public var validationSeed: UInt64 = 0
    /// Evaluate on only the first N images of the evaluation split; 0 (the default) evaluates on all of it.
    /// For quick checks (the test suite's pipeline), never for reported numbers.
    public var evaluationLimit: Int = 0
    /// N > 0: the evaluations every `evalEvery` steps (and at the last step) use only the first N images of the
    /// evaluation split and are logged as curve_loss/curve_accuracy; the last step is also evaluated on the
    /// whole split (test_accuracy). A cheap accuracy curve with exact final numbers. 0: every evaluation uses
    /// the whole split.
    public var curveEvaluationLimit: Int = 0
    /// Consecutive steps with a non-finite loss or gradient (each update skipped) after which the run stops as
    /// diverged (exit status 65), keeping its last checkpoint; 0 never stops.
    public var maxNonFiniteSteps: Int = 10

    public init() {}

    /// Keys a resume may change: the stopping point, checkpoint cadence, logging, folders, and settings that do
    /// not change the numbers (bucket size, hash checks, where the optimizer state lives) or are checked on their
    /// own (allowReshard).
    public static let keysFreeOnResume: Set<String> = [
        "name", "runsDirectory", "dataDirectory", "steps", "evalEvery", "checkpointEvery", "keepCheckpoints",
        "hashEvery", "onHashMismatch", "bucketElements", "progressSeconds", "allowReshard", "maxNonFiniteSteps",
        "optimizerState",
    ]

    /// Every inconsistency, found before any work starts.
    public func validate() throws {
        var problems: [String] = []
        if let problem = RunName.problem(name) { problems.append(problem) }
        problems += namingProblems()
        if !(learningRate > 0 && learningRate.isFinite) { problems.append("learningRate must be positive, got \(learningRate)") }
        if warmupSteps < 0 || warmupSteps > steps { problems.append("warmupSteps must be in 0...steps (\(steps)), got \(warmupSteps)") }
        if !(headLearningRateMultiplier > 0) { problems.append("headLearningRateMultiplier must be positive, got \(headLearningRateMultiplier)") }
        if weightDecay < 0 { problems.append("weightDecay must be >= 0, got \(weightDecay)") }
        if clipNorm < 0 { problems.append("clipNorm must be >= 0 (0 turns it off), got \(clipNorm)") }
        if globalBatch < 1 { problems.append("globalBatch must be positive, got \(globalBatch)") }
        if steps < 1 { problems.append("steps must be positive, got \(steps)") }
        if evalEvery < 0 || checkpointEvery < 0 || hashEvery < 0 { problems.append("evalEvery, checkpointEvery and hashEvery must be >= 0") }
        if bucketElements < 1024 { problems.append("bucketElements must be at least 1024, got \(bucketElements)") }
        if microBatches < 1 || microBatches > globalBatch {
            problems.append("microBatches must be in 1...globalBatch (\(globalBatch)), got \(microBatches)")
        }
        if keepCheckpoints < 1 { problems.append("keepCheckpoints must be at least 1, got \(keepCheckpoints)") }
        if maxNonFiniteSteps < 0 { problems.append("maxNonFiniteSteps must be >= 0 (0: never stop), got \(maxNonFiniteSteps)") }
        if optimizer == .l3rs {
            // λ and μ per layer replace schedules, group multipliers and weight decay.
            if schedule != .constant { problems.append("optimizer l3rs sets its own step sizes: schedule must be constant, got '\(schedule.rawValue)'") }
            if headLearningRateMultiplier != 1 { problems.append("optimizer l3rs sets per-layer step sizes: headLearningRateMultiplier must be 1") }
            if weightDecay != 0 { problems.append("optimizer l3rs has no weight decay: weightDecay must be 0") }
            if clipNorm != 0 { problems.append("optimizer l3rs normalises its directions: clipNorm must be 0") }
            if !freeze.isEmpty { problems.append("optimizer l3rs updates every layer: freeze must be empty") }
            if !groupMultipliers.isEmpty || !groupSchedules.isEmpty {
                problems.append("optimizer l3rs sets per-layer step sizes: groupMultipliers and groupSchedules must be empty")
            }
        } else if !l3rsWeights.isEmpty {
            problems.append("l3rsWeights is for optimizer l3rs, but optimizer is '\(optimizer.rawValue)'")
        }
        if !(validationFraction > 0 && validationFraction < 1) {
            problems.append("validationFraction must be in (0, 1), got \(validationFraction)")
        }
        for (group, multiplier) in groupMultipliers.sorted(by: { $0.key < $1.key }) {
            if !LayerGroups.names.contains(group) {
                problems.append("groupMultipliers: unknown layer group '\(group)'; known: \(LayerGroups.names.joined(separator: ", "))")
            }
            if !(multiplier >= 0 && multiplier.isFinite) { problems.append("groupMultipliers.\(group) must be finite and >= 0, got \(multiplier)") }
        }
        for (group, shape) in groupSchedules.sorted(by: { $0.key < $1.key }) {
            if !LayerGroups.names.contains(group) {
                problems.append("groupSchedules: unknown layer group '\(group)'; known: \(LayerGroups.names.joined(separator: ", "))")
            }
            if !Self.groupDecayShapes.contains(shape) {
                problems.append("groupSchedules.\(group) must be one of \(Self.groupDecayShapes.joined(separator: ", ")), got '\(shape)'")
            }
        }
        if curveEvaluationLimit < 0 { problems.append("curveEvaluationLimit must be >= 0 (0: curves on the whole split), got \(curveEvaluationLimit)") }
        if evaluationLimit < 0 { problems.append("evaluationLimit must be >= 0 (0: the whole split), got \(evaluationLimit)") }
        if head == .keep && weights.isEmpty { problems.append("head: keep needs pretrained weights (set weights)") }
        guard problems.isEmpty else { throw ConfigurationError.invalid(problems) }
    }

    /// The decay shapes a layer group's schedule may name.
    public static let groupDecayShapes = ["constant", "cosine", "linear"]

    /// Names that must be one of an open set (model, data), each with the nearest valid name when it looks
    /// misspelt. Only names: whether files exist is for the command that runs the job. (Closed sets such as
    /// optimizer and schedule are enums, refused where they are parsed.)
    public func namingProblems() -> [String] {
        var problems: [String] = []
        func check(_ key: String, _ value: String, among valid: [String], noun: String) {
            guard !valid.contains(value) else { return }
            problems.append("unknown \(noun) '\(value)' (\(key)); valid: \(valid.joined(separator: ", "))" + Suggestion.hint(for: value, among: valid))
        }
        if !ModelZoo.builds(model) {
            check("model", model, among: ModelZoo.architectureNames, noun: "model")
        }
        if !(data.hasPrefix("npy:") || data.hasPrefix("folder:")) {
            check("data", data, among: DatasetRegistry.knownNames, noun: "dataset")
        }
        return problems
    }
}
