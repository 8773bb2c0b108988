import Datasets
import Distributed
import Foundation
import LearnedOptimizer
import Network
import Reports
import Runs

/// A whole fine-tuning (or pre-training) run on this rank: model, data, trainer, run folder, resume,
/// progress, metrics, evaluation, checkpoints, and the stop signal. The command-line layer only parses
/// options and calls `execute`.
public final class TrainingRun {
    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        case finished(TrainingSummary)
        /// A stop signal arrived; a checkpoint of `step` was written. Exit with `StopSignal.exitCode`.
        case stopped(step: Int)
    }

    public let configuration: TrainingConfiguration
    public let communicator: any Communicator
    public let resume: Bool
    /// Test hook: rank 0 raises the stop flag after this step, as if SIGTERM had arrived then.
    public var simulatedSignalStep: Int?
    /// Where lines go (rank 0 only prints).
    private let log: (String) -> Void

    public init(configuration: TrainingConfiguration, communicator: any Communicator, resume: Bool,
                log: @escaping (String) -> Void) {
        self.configuration = configuration
        self.communicator = communicator
        self.resume = resume
        self.log = log
    }

    /// An in-place progress line only on a terminal with no launcher (`ProgressReporter.standardOutputIsInteractive`).
    public static var interactiveOutput: Bool { ProgressReporter.standardOutputIsInteractive }

    /// Resume even when the checkpoint was written with other values of keys that change what the run computes;
    /// the differences are recorded in the run's configuration-changes.log.
    public var allowChangedConfiguration = false

    /// Builds the model as the configuration says: the architecture, then pretrained weights (with the head
    /// skipped when it is re-initialised), then the head re-initialised from the seed.
    public static func makeModel(_ configuration: TrainingConfiguration, classCount: Int) throws -> Model {
        let model = try ModelZoo.make(named: configuration.model, classCount: classCount, seed: configuration.seed)
        if !configuration.weights.isEmpty {
            let skipped: Set<String> = configuration.head == .reinit ? Set(model.headParameterNames) : []
            try ModelWeights.load(into: model, from: configuration.weights, skipping: skipped)
            if configuration.head == .reinit {
                model.reinitialize(parameterNames: model.headParameterNames, seed: configuration.seed &+ 0x4845_4144) // "HEAD"
            }
        }
        return model
    }

    /// metrics.csv's columns: every key a step's record may hold, so the header is fixed from the first row.
    static func metricsColumns(_ evaluated: String) -> [String] {
        ["step", "loss", "accuracy", "learning_rate", "gradient_norm", "images_per_second", "seconds",
         "\(evaluated)_loss", "\(evaluated)_accuracy", "skipped"]
    }

    /// The parts of a run that `execute`'s steps share.
    private struct Parts {
        let trainer: DataParallelTrainer
        let folder: RunFolder
        /// The cheap accuracy curve's set (configuration.curveEvaluationLimit), nil without a curve.
        let curveSet: Dataset?
        var metrics: MetricsLog?
        /// λ and μ per layer per step of a learned optimizer.
        var learnedLog: MetricsLog?
        var model: Model { trainer.model }
    }

    /// What the step loop carries from step to step.
    private struct LoopState {
        let start = Date()
        var lastTime = Date()
        var lastEvaluation: (loss: Double, accuracy: Double)?
        var divergence: DivergenceGuard
    }

    public func execute() throws -> Outcome {
        let parts = try prepare()
        let progress = ProgressReporter(total: configuration.steps, label: "train", interactive: Self.interactiveOutput,
                                        plainInterval: configuration.progressSeconds)
        var loop = LoopState(divergence: DivergenceGuard(limit: configuration.maxNonFiniteSteps))
        while parts.trainer.step < configuration.steps {
            if communicator.isRoot, let simulated = simulatedSignalStep, parts.trainer.step + 1 == simulated { StopSignal.request() }
            let stats = try parts.trainer.trainStep()
            let imagesPerSecond = try record(stats, parts: parts, loop: &loop)
            // Every rank judges the same reduced gradient, so all stop at the same step.
            let diverged = loop.divergence.record(bad: stats.skipped)
            if communicator.isRoot { show(stats, loop: loop, imagesPerSecond: imagesPerSecond, progress: progress) }
            if try parts.folder.endStep(stats.step, of: configuration.steps, checkpointEvery: configuration.checkpointEvery,
                                        stopRequested: stats.stopRequested, divergence: loop.divergence, diverged: diverged,
                                        divergenceReason: "a non-finite loss or gradient (updates skipped)", unit: "step",
                                        progress: progress, checkpoint: { try checkpoint(parts) }) {
                return .stopped(step: stats.step)
            }
        }
        progress.finish()
        return .finished(try finish(parts, loop: loop))
    }

    /// Model, data, trainer and run folder; resumes from the newest checkpoint (or refuses to overwrite an
    /// earlier run's results), makes every rank start from rank 0's state, and opens the logs.
    private func prepare() throws -> Parts {
        let classCount = try DataSplits.classCount(configuration.data, dataDirectory: configuration.dataDirectory)
        let model = try Self.makeModel(configuration, classCount: max(classCount, 1))
        let (trainSet, testSet) = try DataSplits.load(for: configuration, model: model)
        let limit = configuration.curveEvaluationLimit
        let curveSet = limit > 0 ? testSet.evenlySpread(limit: limit) : nil
        let trainer = try DataParallelTrainer(configuration: configuration, communicator: communicator, model: model,
                                              trainSet: trainSet, testSet: testSet)
        let folder = RunFolder(runsDirectory: configuration.runsDirectory, name: configuration.name,
                               keepCheckpoints: configuration.keepCheckpoints, record: try configuration.record(),
                               communicator: communicator, log: log)
        folder.allowChangedConfiguration = allowChangedConfiguration
        if let loaded = try folder.open(resume: resume, files: [CheckpointStore.modelFileName, CheckpointStore.stateFileName]) {
            try restore(loaded, into: trainer, folder: folder)
        }
        try trainer.broadcastInitialState()
        var parts = Parts(trainer: trainer, folder: folder, curveSet: curveSet)
        try folder.writeConfiguration(try configuration.yaml())
        // The largest rank's optimizer state, so that sharded and replicated runs can be compared.
        let stateBytes = try communicator.allreduce(Double(trainer.updateRule.stateBytes), op: .max)
        if communicator.isRoot {
            log("optimizer state (\(configuration.optimizerState.rawValue)): \(Int(stateBytes)) bytes on the largest rank"
                + (trainer.shardedStep.map { "; " + $0.cutDescription(layerNames: trainer.model.parameters.entries.map(\.name)) } ?? ""))
            // Evaluation numbers are logged under the split they come from, so a tuning run's numbers can
            // never be mistaken for test numbers.
            let evaluated = configuration.evaluationSplit.rawValue
            parts.metrics = try MetricsLog(url: folder.file(RunFolder.metricsFileName),
                                           exports: .init(csvColumns: Self.metricsColumns(evaluated), tensorBoard: true))
            if trainer.updateRule is L3RSUpdateRule { parts.learnedLog = try MetricsLog(url: folder.file("l3rs.jsonl")) }
            log("model \(model.name): \(model.parameterCount) parameters; data \(trainSet.name): \(trainSet.count) train, \(testSet.count) \(evaluated); \(communicator.size) rank(s), global batch \(configuration.globalBatch)")
        }
        return parts
    }

    /// Evaluates when due and appends the step's metrics (and λ and μ of a learned optimizer); returns the
    /// step's images per second.
    private func record(_ stats: StepStatistics, parts: Parts, loop: inout LoopState) throws -> Double {
        let now = Date()
        let imagesPerSecond = Double(configuration.globalBatch) / max(now.timeIntervalSince(loop.lastTime), 1e-9)
        loop.lastTime = now
        var values: [(String, Double?)] = [
            ("step", Double(stats.step)), ("loss", stats.loss), ("accuracy", stats.accuracy),
            ("learning_rate", stats.learningRate), ("gradient_norm", stats.gradientNorm),
            ("images_per_second", imagesPerSecond), ("seconds", now.timeIntervalSince(loop.start)),
        ]
        let isLast = stats.step == configuration.steps
        if (configuration.evalEvery > 0 && stats.step % configuration.evalEvery == 0) || isLast {
            values += try evaluate(after: stats.step, isLast: isLast, parts: parts, loop: &loop)
        }
        if stats.skipped { values.append(("skipped", 1)) }
        try parts.metrics?.append(MetricsRecord(values))
        if let learnedLog = parts.learnedLog, let rule = parts.trainer.updateRule as? L3RSUpdateRule {
            try learnedLog.append(LearnedOptimizerLog.record(step: stats.step, rule: rule))
        }
        return imagesPerSecond
    }

    /// The curve's evaluation, and the whole evaluation split's when there is no curve or at the last step.
    private func evaluate(after step: Int, isLast: Bool, parts: Parts, loop: inout LoopState) throws -> [(String, Double?)] {
        var values: [(String, Double?)] = []
        if let curveSet = parts.curveSet {
            communicator.enterPhase("curve evaluation after step \(step)")
            let curve = try parts.trainer.objective.evaluate(curveSet)
            loop.lastEvaluation = curve
            values += [("curve_loss", curve.loss), ("curve_accuracy", curve.accuracy)]
        }
        if parts.curveSet == nil || isLast {
            let result = try parts.trainer.evaluate()
            loop.lastEvaluation = result
            let evaluated = configuration.evaluationSplit.rawValue
            values += [("\(evaluated)_loss", result.loss), ("\(evaluated)_accuracy", result.accuracy)]
        }
        return values
    }

    /// Rank 0's progress line (and the first of a streak of skipped updates).
    private func show(_ stats: StepStatistics, loop: LoopState, imagesPerSecond: Double, progress: ProgressReporter) {
        if stats.skipped && loop.divergence.consecutive == 1 {
            log("step \(stats.step): non-finite loss or gradient, update skipped")
        }
        var shown = [("loss", String(format: "%.4f", stats.loss)), ("acc", String(format: "%.3f", stats.accuracy))]
        if let last = loop.lastEvaluation {
            shown.append(("\(configuration.evaluationSplit.rawValue) acc", String(format: "%.4f", last.accuracy)))
        }
        if loop.divergence.total > 0 { shown.append(("skipped", "\(loop.divergence.total)")) }
        progress.update(step: stats.step, values: shown, imagesPerSecond: imagesPerSecond)
    }

    /// The model and the update rule's state at the trainer's step. Every rank takes part: sharded optimizer
    /// state is gathered here.
    private func checkpoint(_ parts: Parts) throws {
        let trainer = parts.trainer
        // Only rank 0 writes; the others gather (sharded) or skip the copy (replicated).
        let contents = trainer.shardedStep != nil || communicator.isRoot
            ? try trainer.optimizerCheckpointContents() : (tensors: [], metadata: [:])
        try parts.folder.saveCheckpoint(step: trainer.step) {
            return CheckpointStore.trainerFiles(model: trainer.model, state: .init(
                step: trainer.step, worldSize: communicator.size, modelName: trainer.model.name,
                optimizerName: configuration.optimizer.rawValue, optimizerTensors: contents.tensors,
                optimizerMetadata: contents.metadata))
        }
    }

    /// The final consistency check, summary and results.
    private func finish(_ parts: Parts, loop: LoopState) throws -> TrainingSummary {
        // A resumed run that was already complete still reports its final numbers.
        let lastEvaluation = try loop.lastEvaluation ?? parts.trainer.evaluate()
        try parts.trainer.checkConsistency()
        let summary = TrainingSummary(steps: parts.trainer.step, testLoss: lastEvaluation.loss,
                                      testAccuracy: lastEvaluation.accuracy, seconds: Date().timeIntervalSince(loop.start),
                                      parameterHash: parts.trainer.parameterHash, stoppedBySignal: false)
        try writeResults(summary, model: parts.model, folder: parts.folder)
        return summary
    }

    /// Puts a checkpoint into the model and trainer after checking it was written for this model, world size and
    /// optimizer, and rewinds the logs to its step.
    private func restore(_ loaded: CheckpointStore.Loaded, into trainer: DataParallelTrainer, folder: RunFolder) throws {
        let model = trainer.model, checkpoints = folder.checkpoints.folder.path
        let state = try CheckpointStore.restore(loaded, into: model)
        guard state.modelName == model.name else {
            throw TrainingError.checkpoint("checkpoint in \(checkpoints) is of model \(state.modelName), this run trains \(model.name)")
        }
        guard state.worldSize == communicator.size || configuration.allowReshard else {
            throw TrainingError.checkpoint("checkpoint in \(checkpoints) was written by \(state.worldSize) rank(s), this run has \(communicator.size); set allowReshard: true to continue with the same global batches")
        }
        guard state.optimizerName == configuration.optimizer.rawValue else {
            throw TrainingError.checkpoint("checkpoint in \(checkpoints) was written with optimizer \(state.optimizerName), this run uses \(configuration.optimizer.rawValue)")
        }
        try trainer.restore(step: state.step, state: state)
        try folder.rewindLogs([RunFolder.metricsFileName, "l3rs.jsonl"], key: "step", above: state.step)
        if communicator.isRoot { log("resuming from step \(state.step) (\(checkpoints))") }
    }

    /// Rank 0 writes final.safetensors and prints the summary line; summary.txt goes last.
    private func writeResults(_ summary: TrainingSummary, model: Model, folder: RunFolder) throws {
        let evaluated = configuration.evaluationSplit.rawValue
        let line = "finished \(summary.steps) steps in " + String(format: "%.1f s", summary.seconds)
            + ": \(evaluated) loss " + String(format: "%.4f", summary.testLoss ?? .nan)
            + ", \(evaluated) accuracy " + String(format: "%.4f", summary.testAccuracy ?? .nan)
            + ", parameter hash " + String(format: "%016llx", summary.parameterHash)
        if communicator.isRoot {
            try ModelWeights.save(model, to: folder.file("final.safetensors").path, metadata: ["steps": String(summary.steps)])
            log(line)
        }
        try folder.writeSummary(line)
    }
}
