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
            let skipped: Set<String> = configuration.head == "reinit" ? Set(model.headParameterNames) : []
            try ModelWeights.load(into: model, from: configuration.weights, skipping: skipped)
            if configuration.head == "reinit" {
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

    public func execute() throws -> Outcome {
        let rank0 = communicator.isRoot
        let classCount = try DataSplits.classCount(configuration.data, dataDirectory: configuration.dataDirectory)
        let model = try Self.makeModel(configuration, classCount: max(classCount, 1))
        let (trainSet, testSet) = try DataSplits.load(for: configuration, model: model)
        // Evaluation numbers are logged under the split they come from, so a tuning run's numbers can never be
        // mistaken for test numbers.
        let evaluated = configuration.evaluationSplit
        // The cheap accuracy curve: a fixed prefix of the evaluation split (configuration.curveEvaluationLimit).
        let curveSet = configuration.curveEvaluationLimit > 0 && configuration.curveEvaluationLimit < testSet.count
            ? testSet.subset(Array(0..<configuration.curveEvaluationLimit)) : (configuration.curveEvaluationLimit > 0 ? testSet : nil)
        let trainer = try DataParallelTrainer(configuration: configuration, communicator: communicator, model: model,
                                              trainSet: trainSet, testSet: testSet)
        let folder = RunFolder(runsDirectory: configuration.runsDirectory, name: configuration.name,
                               keepCheckpoints: configuration.keepCheckpoints, record: try configuration.record(),
                               communicator: communicator, log: log)
        folder.allowChangedConfiguration = allowChangedConfiguration
        let metricsURL = folder.file(RunFolder.metricsFileName)
        let learnedLogURL = folder.file("l3rs.jsonl")

        // Resume, or refuse to overwrite an earlier run's results.
        if let loaded = try folder.open(resume: resume, files: [CheckpointStore.modelFileName, CheckpointStore.stateFileName]) {
            try restore(loaded, into: trainer, folder: folder)
        }
        try trainer.broadcastInitialState()

        var metrics: MetricsLog?
        /// λ and μ per layer per step of a learned optimizer.
        var learnedLog: MetricsLog?
        try folder.writeConfiguration(try configuration.yaml())
        // The largest rank's optimizer state, so that sharded and replicated runs can be compared.
        let stateBytes = try communicator.allreduce(Double(trainer.updateRule.stateBytes), op: .max)
        if rank0 {
            log("optimizer state (\(configuration.optimizerState.rawValue)): \(Int(stateBytes)) bytes on the largest rank")
            metrics = try MetricsLog(url: metricsURL, exports: .init(csvColumns: Self.metricsColumns(evaluated), tensorBoard: true))
            if trainer.updateRule is L3RSUpdateRule { learnedLog = try MetricsLog(url: learnedLogURL) }
            log("model \(model.name): \(model.parameterCount) parameters; data \(trainSet.name): \(trainSet.count) train, \(testSet.count) \(evaluated); \(communicator.size) rank(s), global batch \(configuration.globalBatch)")
        }

        let progress = ProgressReporter(total: configuration.steps, label: "train", interactive: Self.interactiveOutput,
                                        plainInterval: configuration.progressSeconds)
        let start = Date()
        var lastTime = Date()
        var lastEval: (loss: Double, accuracy: Double)?
        func checkpoint() throws {
            // Every rank takes part: sharded optimizer state is gathered here.
            let contents = try trainer.optimizerCheckpointContents()
            try folder.saveCheckpoint(step: trainer.step) {
                return CheckpointStore.trainerFiles(model: model, state: .init(
                    step: trainer.step, worldSize: communicator.size, modelName: model.name,
                    optimizerName: configuration.optimizer, optimizerTensors: contents.tensors,
                    optimizerMetadata: contents.metadata))
            }
        }

        var divergence = DivergenceGuard(limit: configuration.maxNonFiniteSteps)
        while trainer.step < configuration.steps {
            if rank0, let simulated = simulatedSignalStep, trainer.step + 1 == simulated { StopSignal.request() }
            let stats = try trainer.trainStep()
            let now = Date()
            let imagesPerSecond = Double(configuration.globalBatch) / max(now.timeIntervalSince(lastTime), 1e-9)
            lastTime = now
            var values: [(String, Double?)] = [
                ("step", Double(stats.step)), ("loss", stats.loss), ("accuracy", stats.accuracy),
                ("learning_rate", stats.learningRate), ("gradient_norm", stats.gradientNorm),
                ("images_per_second", imagesPerSecond), ("seconds", now.timeIntervalSince(start)),
            ]
            let isLast = stats.step == configuration.steps
            if (configuration.evalEvery > 0 && stats.step % configuration.evalEvery == 0) || isLast {
                if let curveSet {
                    communicator.enterPhase("curve evaluation after step \(stats.step)")
                    let curve = try Evaluation.run(model: model, dataset: curveSet, communicator: communicator)
                    lastEval = curve
                    values += [("curve_loss", curve.loss), ("curve_accuracy", curve.accuracy)]
                }
                if curveSet == nil || isLast {
                    let result = try trainer.evaluate()
                    lastEval = result
                    values += [("\(evaluated)_loss", result.loss), ("\(evaluated)_accuracy", result.accuracy)]
                }
            }
            if stats.skipped { values.append(("skipped", 1)) }
            try metrics?.append(MetricsRecord(values))
            if let learnedLog, let rule = trainer.updateRule as? L3RSUpdateRule {
                try learnedLog.append(LearnedOptimizerLog.record(step: stats.step, rule: rule))
            }
            // Every rank judges the same reduced gradient, so all stop at the same step.
            let diverged = divergence.record(bad: stats.skipped)
            if rank0 {
                if stats.skipped && divergence.consecutive == 1 {
                    log("step \(stats.step): non-finite loss or gradient, update skipped")
                }
                var shown = [("loss", String(format: "%.4f", stats.loss)), ("acc", String(format: "%.3f", stats.accuracy))]
                if let lastEval { shown.append(("\(evaluated) acc", String(format: "%.4f", lastEval.accuracy))) }
                if divergence.total > 0 { shown.append(("skipped", "\(divergence.total)")) }
                progress.update(step: stats.step, values: shown, imagesPerSecond: imagesPerSecond)
            }
            if try folder.endStep(stats.step, of: configuration.steps, checkpointEvery: configuration.checkpointEvery,
                                  stopRequested: stats.stopRequested, divergence: divergence, diverged: diverged,
                                  divergenceReason: "a non-finite loss or gradient (updates skipped)", unit: "step",
                                  progress: progress, checkpoint: checkpoint) {
                return .stopped(step: stats.step)
            }
        }
        progress.finish()
        // A resumed run that was already complete still reports its final numbers.
        if lastEval == nil { lastEval = try trainer.evaluate() }
        try trainer.checkConsistency()
        let summary = TrainingSummary(steps: trainer.step, testLoss: lastEval?.loss, testAccuracy: lastEval?.accuracy,
                                      seconds: Date().timeIntervalSince(start), parameterHash: trainer.parameterHash,
                                      stoppedBySignal: false)
        try writeResults(summary, model: model, folder: folder)
        return .finished(summary)
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
        guard state.optimizerName == configuration.optimizer else {
            throw TrainingError.checkpoint("checkpoint in \(checkpoints) was written with optimizer \(state.optimizerName), this run uses \(configuration.optimizer)")
        }
        try trainer.restore(step: state.step, state: state)
        try folder.rewindLogs([RunFolder.metricsFileName, "l3rs.jsonl"], key: "step", above: state.step)
        if communicator.isRoot { log("resuming from step \(state.step) (\(checkpoints))") }
    }

    /// Rank 0 writes final.safetensors and prints the summary line; summary.txt goes last.
    private func writeResults(_ summary: TrainingSummary, model: Model, folder: RunFolder) throws {
        let evaluated = configuration.evaluationSplit
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
