import Datasets
import Distributed
import Foundation
import LearnedOptimizer
import Network
import Seeding
import Runs
import Training

/// Meta-training of L3RS by truncated backpropagation through the unroll (docs/method.md §5), data-parallel.
///
/// Holds φ (inside `optimizer`), the meta-optimizer (Adam with global-norm clipping) and `innerRuns` inner
/// runs. Each meta-step advances one inner run (in turn) by a truncation of T steps, gets the meta-gradient
/// from `L3RSOptimizer.metaGradient` on a `ModelInnerProblem`, reduces it over ranks, and takes one
/// meta-optimizer step. Inner runs start staggered evenly over the horizon H and restart from the backbone
/// (new head seed and data order) when they reach it. Every rank holds identical φ, runs and counters.
public final class MetaTrainer {
    public let configuration: MetaTrainingConfiguration
    public let communicator: any Communicator
    public let model: Model
    /// The meta-training part of the training split, and the held-out meta-validation part.
    public let trainSet: Dataset
    public let validationSet: Dataset
    public internal(set) var optimizer: L3RSOptimizer
    public internal(set) var metaOptimizer: MetaOptimizer
    public internal(set) var runs: [InnerRun] = []
    /// Meta-steps completed.
    public internal(set) var metaStep = 0
    /// How truncations keep their intermediates (from the memory setting and budget).
    public let memory: UnrollMemory
    /// The best φ by held-out meta-validation so far (validateEvery > 0), its score (mean held-out loss,
    /// lower is better) and the meta-step it was reached at.
    public internal(set) var best: ValidatedMetaParameters?
    /// PES: per inner run (by index), its pairs' particles and accumulated perturbations (`estimator: pes`);
    /// identical on every rank, checkpointed.
    public internal(set) var persistentES: [Int: PersistentRunEstimator] = [:]
    /// The backbone's parameters (head included; each run re-initialises the head).
    let pretrained: [Float]

    /// `model` must already hold the pretrained weights.
    public init(configuration: MetaTrainingConfiguration, communicator: any Communicator, model: Model,
                trainSet: Dataset, validationSet: Dataset) throws {
        try configuration.validate()
        guard trainSet.imageShape == model.inputShape, validationSet.imageShape == model.inputShape else {
            throw TrainingError.shapeMismatch("model \(model.name) takes images of shape \(model.inputShape) but the data has \(trainSet.imageShape)")
        }
        self.configuration = configuration
        self.communicator = communicator
        self.model = model
        self.trainSet = trainSet
        self.validationSet = validationSet
        pretrained = Array(model.parameters.values)
        optimizer = try L3RSOptimizer(configuration: configuration.l3rsConfiguration, layers: LayerSlices.make(for: model),
                                      parameterCount: model.parameterCount)
        metaOptimizer = MetaOptimizer(parameterCount: optimizer.metaParameters.values.count,
                                      learningRate: Float(configuration.metaLearningRate),
                                      maxGradientNorm: configuration.metaClipNorm)
        memory = Self.memoryMode(configuration, optimizer: optimizer)
    }

    /// Store the truncation's intermediates while they fit the budget, else recompute them in segments
    /// that do (docs/method.md §5, "Memory").
    static func memoryMode(_ configuration: MetaTrainingConfiguration, optimizer: L3RSOptimizer) -> UnrollMemory {
        let n = optimizer.parameterCount
        let baseCount = configuration.baseOptimizers.count
        let stateSlots = optimizer.makeState().baseStates.reduce(0) { $0 + $1.firstMoment.count + $1.secondMoment.count }
        // θ_k, the P base directions and the validation gradient per step; g_k and s_k+1 in second order.
        var floatsPerStep = Double((baseCount + 2) * n)
        if configuration.order == .secondOrder { floatsPerStep += Double(n + stateSlots) }
        let budgetSteps = Int(configuration.memoryBudgetMB * 1_048_576 / (4 * floatsPerStep))
        switch configuration.memory {
        case .store: return .storeAll
        case .recompute:
            return .recompute(segmentLength: configuration.recomputeSegment > 0 ? configuration.recomputeSegment
                                                                                : configuration.truncation)
        case .auto:
            if budgetSteps >= configuration.truncation { return .storeAll }
            return .recompute(segmentLength: configuration.recomputeSegment > 0 ? configuration.recomputeSegment
                                                                                : max(1, budgetSteps))
        }
    }

    /// A run started from the backbone with the head re-initialised from its own seed.
    func freshRun(index: Int, restarts: Int) -> InnerRun {
        var run = InnerRun(index: index, restarts: restarts, parameters: pretrained, state: optimizer.makeState())
        let values = model.parameters.values
        pretrained.withUnsafeBufferPointer { values.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        model.reinitialize(parameterNames: model.headParameterNames,
                           seed: run.seed(base: configuration.seed, stream: .head))
        run.parameters = Array(values)
        run.state.horizon = horizon(of: run)
        return run
    }

    /// The inner problem of a run's current incarnation, data-parallel over `communicator` (default: every
    /// rank; a `SingleProcessCommunicator` runs the whole global batch on this rank alone).
    func problem(for run: InnerRun, reduction: ModelInnerProblem.ValidationReduction,
                 communicator: (any Communicator)? = nil) throws -> ModelInnerProblem {
        try ModelInnerProblem(
            model: model, communicator: communicator ?? self.communicator, trainSet: trainSet, validationSet: validationSet,
            trainSampler: try GlobalBatchSampler(sampleCount: trainSet.count, globalBatchSize: configuration.globalBatch,
                                                 seed: run.seed(base: configuration.seed, stream: .trainingOrder)),
            validationSampler: try GlobalBatchSampler(sampleCount: validationSet.count,
                                                      globalBatchSize: configuration.validationBatch,
                                                      seed: run.seed(base: configuration.seed, stream: .validationOrder)),
            validationReduction: reduction, batchNorm: configuration.batchNorm)
    }

    /// The reduction the meta-gradient order needs (see `ModelInnerProblem`).
    var validationReduction: ModelInnerProblem.ValidationReduction {
        configuration.order == .firstOrder ? .rankShare : .globalMean
    }

    /// Starts every inner run, run i advanced i·H/N steps with the initial optimizer so that truncations
    /// are spread over the horizon from the first meta-step on.
    public func startRuns() throws {
        let count = configuration.innerRuns
        runs = []
        persistentES = [:]
        for index in 0..<count {
            var run = freshRun(index: index, restarts: 0)
            let offset = index * configuration.horizon / count
            if offset > 0 {
                let problem = try problem(for: run, reduction: .globalMean)
                try advance(&run.parameters, state: &run.state, steps: offset, problem: problem, optimizer: optimizer)
            }
            runs.append(run)
        }
    }

    /// Plain inner steps (no meta-gradient) with `optimizer`.
    func advance(_ parameters: inout [Float], state: inout L3RSState, steps: Int, problem: ModelInnerProblem,
                 optimizer: L3RSOptimizer) throws {
        var optimizer = optimizer
        var gradient = [Float](repeating: 0, count: parameters.count)
        for _ in 0..<steps {
            try Self.innerStep(&parameters, state: &state, gradient: &gradient, problem: problem, optimizer: &optimizer)
        }
    }

    /// One inner step: the training gradient of the step's batch at θ (global over `problem`'s ranks), then
    /// `optimizer`'s update. `gradient` is scratch of θ's size.
    static func innerStep(_ parameters: inout [Float], state: inout L3RSState, gradient: inout [Float],
                          problem: ModelInnerProblem, optimizer: inout L3RSOptimizer) throws {
        let loss = parameters.withUnsafeBufferPointer { θ in
            gradient.withUnsafeMutableBufferPointer { g in
                problem.trainingLossAndGradient(parameters: θ, step: state.step, gradient: g)
            }
        }
        if let failure = problem.failure { throw failure }
        optimizer.step(parameters: &parameters, gradient: gradient, loss: loss, state: &state)
    }

    /// The horizon of a run's current incarnation: `horizon`, or a log-uniform draw from `horizonRange`
    /// seeded by (seed, run index, restarts), so a resumed run sees the same horizons.
    public func horizon(of run: InnerRun) -> Int {
        let range = configuration.horizonRange
        guard range.lowerBound < range.upperBound else { return range.lowerBound }
        var generator = SplitMix64(seed: run.seed(base: configuration.seed, stream: .horizon))
        let u = generator.nextOpenUnitDouble()
        let logHorizon = log(Double(range.lowerBound)) + u * (log(Double(range.upperBound + 1)) - log(Double(range.lowerBound)))
        return min(range.upperBound, max(range.lowerBound, Int(exp(logHorizon))))
    }

    /// One meta-step: the next `tasksPerMetaStep` inner runs (each restarted first if it reached its horizon
    /// or diverged) advance by a truncation; their meta-gradients are averaged (a meta-batch of tasks), and φ
    /// takes one meta-optimizer step.
    public func metaTrainStep() throws -> MetaStepReport {
        precondition(!runs.isEmpty, "MetaTrainer: call startRuns() or restore a checkpoint first")
        let tasks = configuration.tasksPerMetaStep
        var outcomes: [TaskOutcome] = []
        var stop = false
        for task in 0..<tasks {
            let index = (metaStep * tasks + task) % runs.count
            var run = runs[index]
            let restarted = run.step >= horizon(of: run) || !run.parameters.allSatisfy(\.isFinite)
            if restarted { run = freshRun(index: index, restarts: run.restarts + 1) }
            let startStep = run.step
            let length = min(configuration.truncation, horizon(of: run) - startStep)
            let (estimate, stopRequested) = switch configuration.estimator {
            case .truncatedBackprop: try reducedMetaGradient(run: &run, truncation: length)
            case .antitheticES: try antitheticESMetaGradient(run: &run, truncation: length)
            case .pes: try persistentESMetaGradient(run: &run, truncation: length)
            }
            stop = stop || stopRequested
            outcomes.append(TaskOutcome(run: index, innerStep: startStep, truncation: length, restarted: restarted,
                                        innerNonFinite: !run.parameters.allSatisfy(\.isFinite), estimate: estimate))
            runs[index] = run
        }
        let mean = TaskEstimate.mean(outcomes.map(\.estimate))
        let update = metaOptimizer.update(&optimizer.metaParameters, gradient: mean.gradient)
        metaStep += 1
        let (norm, scale, skipped): (Double, Double, Bool) = switch update {
        case let .applied(gradientNorm, clipScale): (gradientNorm, clipScale, false)
        case .skippedNonFinite: (.nan, 0, true)
        }
        var report = MetaStepReport(
            metaStep: metaStep, run: outcomes[0].run, innerStep: outcomes[0].innerStep,
            truncation: outcomes[0].truncation, metaLoss: mean.metaLoss, stepSizePenalty: mean.stepSizePenalty,
            gradientNorm: norm, clipScale: scale, skipped: skipped, restarted: outcomes.contains(where: \.restarted),
            innerNonFinite: outcomes.contains(where: \.innerNonFinite), meanStepSizes: mean.meanStepSizes,
            meanMixingWeights: mean.meanMixingWeights, stopRequested: stop)
        if configuration.validateEvery > 0, metaStep % configuration.validateEvery == 0 || metaStep == configuration.metaSteps {
            report.validation = try validateAndKeepBest()
        }
        return report
    }

    /// What one task of a meta-step did.
    struct TaskOutcome {
        var run: Int
        var innerStep: Int
        var truncation: Int
        var restarted: Bool
        var innerNonFinite: Bool
        var estimate: TaskEstimate
    }

    /// Advances `run` by a truncation of `truncation` steps and returns the global meta-gradient and
    /// meta-loss (identical on every rank), and whether any rank asked to stop.
    ///
    /// First order: each rank's result holds its shard's terms, and the terms sum to the global
    /// meta-gradient and meta-loss (one allreduce). Second order: every rank already holds the global ones
    /// (averaging them only guards against rounding).
    public func reducedMetaGradient(run: inout InnerRun, truncation: Int) throws -> (TaskEstimate, stop: Bool) {
        let problem = try problem(for: run, reduction: validationReduction)
        let ranks = Double(communicator.size)
        let firstOrder = configuration.order == .firstOrder
        // The step-size penalty is the same on every rank; in first order the ranks' gradients are summed,
        // so each rank contributes its 1/size share of it.
        var objective = configuration.metaObjective
        if firstOrder { objective.stepSizePenalty /= ranks }
        var result = optimizer.metaGradient(problem: problem, parameters: &run.parameters, state: &run.state,
                                            truncationLength: truncation, order: configuration.order, memory: memory,
                                            objective: objective)
        if let failure = problem.failure { throw failure }
        try communicator.allreduce(&result.gradient, op: firstOrder ? .sum : .mean)
        var totals = [firstOrder ? result.metaLoss : result.metaLoss / ranks,
                      firstOrder ? result.stepSizePenalty : result.stepSizePenalty / ranks,
                      StopSignal.pending != 0 ? 1 : 0]
        try communicator.allreduce(&totals, op: .sum)
        let estimate = TaskEstimate(gradient: result.gradient, metaLoss: totals[0], stepSizePenalty: totals[1],
                                    meanStepSizes: result.meanStepSizes, meanMixingWeights: result.meanMixingWeights)
        return (estimate, totals[2] > 0)
    }

    /// The meta-objective of `metaParameters` without changing anything: a fresh inner run `index`
    /// (restart 0) advanced `steps` steps, and the mean global meta-validation loss after each step. Lets a
    /// test (or a report) compare φ's on the same inner run and the same batches.
    public func evaluate(metaParameters: MetaParameters, runIndex: Int = 0, steps: Int) throws -> Double {
        let run = freshRun(index: runIndex, restarts: 0)
        return try heldOutScore(of: metaParameters, from: run, steps: steps,
                                problem: try problem(for: run, reduction: .globalMean)).meanLoss
    }
}
