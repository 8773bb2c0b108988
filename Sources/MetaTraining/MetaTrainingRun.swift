import Checkpoints
import Datasets
import Distributed
import Foundation
import LearnedOptimizer
import Network
import Reports
import Runs
import Seeding
import Training

/// A whole meta-training run on this rank: backbone, data, meta-trainer, run folder, resume, progress,
/// metrics, checkpoints, the stop signal, and the learned optimizer written to runs/NAME/l3rs.safetensors.
/// The command-line layer only parses options and calls `execute`.
public final class MetaTrainingRun {
    public enum Outcome: Equatable, Sendable {
        /// `metaSteps` meta-steps are done; `metaParameterHash` identifies φ (identical on every rank).
        case finished(metaSteps: Int, metaParameterHash: UInt64, seconds: Double)
        /// A stop signal arrived; a checkpoint of `metaStep` was written. Exit with `StopSignal.exitCode`.
        case stopped(metaStep: Int)
    }

    public let configuration: MetaTrainingConfiguration
    public let communicator: any Communicator
    public let resume: Bool
    private let log: (String) -> Void

    public init(configuration: MetaTrainingConfiguration, communicator: any Communicator, resume: Bool,
                log: @escaping (String) -> Void) {
        self.configuration = configuration
        self.communicator = communicator
        self.resume = resume
        self.log = log
    }

    /// Resume even when the checkpoint was written with other values of keys that change what the run computes;
    /// the differences are recorded in the run's configuration-changes.log.
    public var allowChangedConfiguration = false

    public var runFolder: URL {
        URL(fileURLWithPath: configuration.runsDirectory).appendingPathComponent(configuration.name)
    }

    /// A meta-loss above this multiple of the run's first meta-loss counts as exploded: a bad meta-step for the
    /// divergence policy (`maxNonFiniteSteps`), like a non-finite one. Cross-entropy meta-losses start near
    /// log(classes) and a working run lowers them, so a thousandfold rise is far outside any healthy run.
    public static let explosionFactor = 1000.0
    static let divergenceReason = "a non-finite meta-gradient or a non-finite or exploded (over \(Int(explosionFactor))x the first) meta-loss"
    /// The checkpoint metadata key of that first meta-loss, so a resumed run judges against the same value.
    static let referenceMetaLossKey = "run.reference_meta_loss"

    /// The learned optimizer's file in the run folder.
    public var learnedOptimizerURL: URL { runFolder.appendingPathComponent("l3rs.safetensors") }
    /// The last φ, beside the selected one, when meta-validation picks the best.
    public var lastLearnedOptimizerURL: URL { runFolder.appendingPathComponent("l3rs-last.safetensors") }

    /// The backbone with its pretrained weights, and the meta-training and meta-validation parts of the
    /// training split (a seeded split: the same on every rank and run).
    public static func makeTrainer(_ configuration: MetaTrainingConfiguration, communicator: any Communicator) throws
        -> MetaTrainer {
        let classCount = try DataSplits.classCount(configuration.data, dataDirectory: configuration.dataDirectory)
        let model = try ModelZoo.make(named: configuration.model, classCount: max(classCount, 1), seed: configuration.seed)
        try ModelWeights.load(into: model, from: configuration.weights, skipping: Set(model.headParameterNames))
        let training = try DataSplits.loadTraining(configuration.data, dataDirectory: configuration.dataDirectory,
                                                   for: model, resize: configuration.resize)
        guard training.classCount <= model.classCount else {
            throw TrainingError.shapeMismatch("\(configuration.data) has \(training.classCount) classes but model \(model.name) outputs \(model.classCount)")
        }
        let (train, validation) = try training.split(validationFraction: configuration.validationFraction,
                                                     seed: SplitMix64.derivedSeed(configuration.seed, stream: 0x4D56)) // "MV"
        return try MetaTrainer(configuration: configuration, communicator: communicator, model: model,
                               trainSet: train, validationSet: validation)
    }

    /// The parts of a run that `execute`'s steps share.
    private struct Parts {
        let trainer: MetaTrainer
        let folder: RunFolder
        /// CSV of the per-meta-step numbers (λ and μ per layer go to TensorBoard and the JSON lines only).
        var metrics: MetricsLog?
        /// The run's first finite meta-loss (kept in checkpoints): the explosion test's reference.
        var referenceMetaLoss: Double?
    }

    public func execute() throws -> Outcome {
        var parts = try prepare()
        let progress = ProgressReporter(total: configuration.metaSteps, label: "meta", plainInterval: configuration.progressSeconds)
        let start = Date()
        var divergence = DivergenceGuard(limit: configuration.maxNonFiniteSteps)
        while parts.trainer.metaStep < configuration.metaSteps {
            let report = try parts.trainer.metaTrainStep()
            if parts.referenceMetaLoss == nil && report.metaLoss.isFinite { parts.referenceMetaLoss = report.metaLoss }
            // The meta-loss and meta-gradient are reduced over ranks, so every rank judges alike.
            let exploded = report.metaLoss.isFinite
                && report.metaLoss > Self.explosionFactor * abs(parts.referenceMetaLoss ?? .infinity)
            let diverged = divergence.record(bad: report.skipped || !report.metaLoss.isFinite || exploded)
            try parts.metrics?.append(metricsRecord(report, optimizer: parts.trainer.optimizer,
                                                    seconds: Date().timeIntervalSince(start)))
            if communicator.isRoot {
                show(report, exploded: exploded, reference: parts.referenceMetaLoss, divergence: divergence, progress: progress)
            }
            if try parts.folder.endStep(report.metaStep, of: configuration.metaSteps, checkpointEvery: configuration.checkpointEvery,
                                        stopRequested: report.stopRequested, divergence: divergence, diverged: diverged,
                                        divergenceReason: Self.divergenceReason, unit: "meta-step", progress: progress,
                                        checkpoint: { try checkpoint(parts) }) {
                return .stopped(metaStep: report.metaStep)
            }
        }
        progress.finish()
        // A run that ends on bad meta-steps does not write their φ as its learned optimizer.
        if divergence.consecutive > 0 {
            throw DivergenceError(step: parts.trainer.metaStep, reason: Self.divergenceReason,
                                  consecutive: divergence.consecutive, lastCheckpoint: parts.folder.newestCheckpoint)
        }
        return try finish(parts, seconds: Date().timeIntervalSince(start))
    }

    /// Meta-trainer and run folder; resumes from the newest checkpoint (or starts the inner runs), scores the
    /// starting φ when meta-validation runs, and opens the metrics.
    private func prepare() throws -> Parts {
        let trainer = try Self.makeTrainer(configuration, communicator: communicator)
        let folder = RunFolder(runsDirectory: configuration.runsDirectory, name: configuration.name,
                               keepCheckpoints: configuration.keepCheckpoints, record: try configuration.record(),
                               communicator: communicator, log: log)
        folder.allowChangedConfiguration = allowChangedConfiguration
        var parts = Parts(trainer: trainer, folder: folder)
        if let loaded = try folder.open(resume: resume, files: [MetaTrainer.stateFileName]) {
            parts.referenceMetaLoss = loaded.files[MetaTrainer.stateFileName]?.metadata[Self.referenceMetaLossKey].flatMap(Double.init)
            try trainer.restore(from: loaded.files[MetaTrainer.stateFileName]!, source: loaded.paths[MetaTrainer.stateFileName]!)
            try folder.rewindLogs([RunFolder.metricsFileName], key: "meta_step", above: trainer.metaStep)
            if communicator.isRoot { log("resuming from meta-step \(trainer.metaStep) (\(folder.checkpoints.folder.path))") }
        } else {
            try trainer.startRuns()
        }
        // The starting φ is scored too, so a meta-training that only makes things worse ships its start.
        let initialValidation = configuration.validateEvery > 0 && trainer.best == nil
            ? try trainer.validateAndKeepBest() : nil
        try folder.writeConfiguration(try configuration.yaml())
        if communicator.isRoot {
            parts.metrics = try MetricsLog(url: folder.file(RunFolder.metricsFileName), exports: .init(
                csvColumns: ["meta_step", "meta_loss", "meta_gradient_norm", "clip_scale", "run", "inner_step", "truncation",
                             "seconds", "step_size_penalty", "skipped_non_finite", "restarted", "inner_non_finite",
                             "validation_loss", "validation_accuracy", "best"],
                tensorBoard: true, stepKey: "meta_step"))
            log("backbone \(trainer.model.name): \(trainer.model.parameterCount) parameters, \(trainer.optimizer.layers.count) layers; φ: \(trainer.optimizer.metaParameters.values.count) meta-parameters (\(configuration.variant.rawValue)); data \(configuration.data): \(trainer.trainSet.count) meta-train, \(trainer.validationSet.count) meta-validation; \(communicator.size) rank(s); \(configuration.order.rawValue), memory \(trainer.memory)")
        }
        if let initialValidation {
            try parts.metrics?.append(MetricsRecord([("meta_step", 0), ("validation_loss", initialValidation.meanLoss),
                                                     ("validation_accuracy", initialValidation.finalAccuracy), ("best", 1)]))
        }
        return parts
    }

    /// Rank 0's messages and progress line for one meta-step.
    private func show(_ report: MetaStepReport, exploded: Bool, reference: Double?, divergence: DivergenceGuard,
                      progress: ProgressReporter) {
        if report.skipped { log("meta-step \(report.metaStep): non-finite meta-gradient, φ unchanged") }
        if report.innerNonFinite { log("meta-step \(report.metaStep): inner run \(report.run) diverged; it restarts") }
        if exploded {
            log("meta-step \(report.metaStep): meta-loss \(report.metaLoss) is over \(Int(Self.explosionFactor))x the first (\(reference ?? .nan))")
        }
        if let validation = report.validation {
            log(String(format: "meta-step %d: held-out loss %.4f, accuracy %.2f%%", report.metaStep,
                       validation.meanLoss, 100 * validation.finalAccuracy) + (validation.isBest ? " (best so far)" : ""))
        }
        let meanλ = report.meanStepSizes.reduce(0.0) { $0 + Double($1) } / Double(max(report.meanStepSizes.count, 1))
        progress.update(step: report.metaStep, values: [
            ("meta loss", String(format: "%.4f", report.metaLoss)),
            ("|∇φ|", String(format: "%.3g", report.gradientNorm)),
            ("mean λ", String(format: "%.3g", meanλ)),
            ("run", "\(report.run)@\(report.innerStep)"),
        ] + (divergence.total > 0 ? [("bad", "\(divergence.total)")] : []))
    }

    /// The meta-state (with the reference meta-loss) and the learned optimizer, after proving φ is the same
    /// on every rank (it is by construction; a checkpoint is the place to check).
    private func checkpoint(_ parts: Parts) throws {
        let trainer = parts.trainer
        let differing = try trainer.optimizer.metaParameters.values.withUnsafeBufferPointer {
            try ParameterConsistency.disagreeingRanks(communicator, values: $0)
        }
        guard differing.isEmpty else {
            throw MetaTrainingError.checkpoint("φ differs across ranks \(differing) at meta-step \(trainer.metaStep)")
        }
        try parts.folder.saveCheckpoint(step: trainer.metaStep) {
            var file = try trainer.checkpointFile()
            if let reference = parts.referenceMetaLoss { file.metadata[Self.referenceMetaLossKey] = String(reference) }
            return [(MetaTrainer.stateFileName, file)]
        }
        if communicator.isRoot { try saveLearnedOptimizer(trainer) }
    }

    /// Writes the learned optimizer and the summary line.
    private func finish(_ parts: Parts, seconds: Double) throws -> Outcome {
        let trainer = parts.trainer
        let hash = trainer.optimizer.metaParameters.values.withUnsafeBufferPointer { ParameterConsistency.hash($0) }
        let line = "finished \(trainer.metaStep) meta-steps in " + String(format: "%.1f s", seconds)
            + "; learned optimizer \(learnedOptimizerURL.path) (φ hash " + String(format: "%016llx", hash) + ")"
        if communicator.isRoot {
            try saveLearnedOptimizer(trainer)
            log(line)
        }
        try parts.folder.writeSummary(line)
        return .finished(metaSteps: trainer.metaStep, metaParameterHash: hash, seconds: seconds)
    }

    /// One line of metrics.jsonl: the meta-step's numbers and λ and μ per layer.
    private func metricsRecord(_ report: MetaStepReport, optimizer: L3RSOptimizer, seconds: Double) -> MetricsRecord {
        var values: [(String, Double?)] = [
            ("meta_step", Double(report.metaStep)), ("meta_loss", report.metaLoss),
            ("meta_gradient_norm", report.gradientNorm), ("clip_scale", report.clipScale),
            ("run", Double(report.run)), ("inner_step", Double(report.innerStep)),
            ("truncation", Double(report.truncation)), ("seconds", seconds),
        ]
        if configuration.stepSizePenalty > 0 { values.append(("step_size_penalty", report.stepSizePenalty)) }
        if report.skipped { values.append(("skipped_non_finite", 1)) }
        if report.restarted { values.append(("restarted", 1)) }
        if report.innerNonFinite { values.append(("inner_non_finite", 1)) }
        if let validation = report.validation {
            values += [("validation_loss", validation.meanLoss), ("validation_accuracy", validation.finalAccuracy),
                       ("best", validation.isBest ? 1 : 0)]
        }
        let perLayer = LearnedOptimizerLog.record(step: report.metaStep, optimizer: optimizer,
                                                  stepSizes: report.meanStepSizes,
                                                  mixingWeights: report.meanMixingWeights, key: "meta_step")
        values += perLayer.values.dropFirst()
        return MetricsRecord(values)
    }

    /// The learned optimizer the run ships (the best validated φ when meta-validation runs, else the last)
    /// to l3rs.safetensors, and the last φ to l3rs-last.safetensors when they differ.
    private func saveLearnedOptimizer(_ trainer: MetaTrainer) throws {
        var metadata = ["meta_step": String(trainer.metaStep), "backbone": configuration.model, "data": configuration.data,
                        "horizon_min": String(configuration.horizonRange.lowerBound),
                        LearnedOptimizerFile.horizonKey: String(configuration.horizonRange.upperBound)]
        if let best = trainer.best {
            var last = trainer.optimizer
            try LearnedOptimizerFile.save(last, to: lastLearnedOptimizerURL.path, extraMetadata: metadata)
            last.metaParameters = best.metaParameters
            metadata["selected_meta_step"] = String(best.metaStep)
            metadata["selected_validation_loss"] = String(best.meanLoss)
            try LearnedOptimizerFile.save(last, to: learnedOptimizerURL.path, extraMetadata: metadata)
        } else {
            try LearnedOptimizerFile.save(trainer.optimizer, to: learnedOptimizerURL.path, extraMetadata: metadata)
        }
    }
}
