import Distributed
import Foundation
import MetaTraining
import Reports
import Runs
import Training

/// A whole pipeline on this rank: every stage in order, each in its own run folder, then the report. A stage
/// whose run finished is skipped on resume; an interrupted one continues from its own checkpoint; a stop
/// signal ends the pipeline after the current stage's checkpoint. The command-line layer only parses options
/// and calls `execute`.
public final class PipelineRun {
    public enum Outcome: Equatable, Sendable {
        /// Every stage is done and the report is written.
        case finished(seconds: Double)
        /// A stop signal arrived during `stage`, which wrote a checkpoint. Exit with `StopSignal.exitCode`.
        case stopped(stage: String)
    }

    public let plan: PipelinePlan
    public let communicator: any Communicator
    public let resume: Bool
    /// Test hook: the stage with this id acts as if SIGTERM arrived during `simulatedSignalStep`.
    public var simulatedSignalStage: String?
    public var simulatedSignalStep: Int?
    private let log: (String) -> Void
    /// When `execute` began: each stage line shows the pipeline's elapsed time, so a log tells where time went.
    private var started = Date()

    public init(configuration: PipelineConfiguration, communicator: any Communicator, resume: Bool,
                log: @escaping (String) -> Void) {
        plan = PipelinePlan(configuration)
        self.communicator = communicator
        self.resume = resume
        self.log = log
    }

    public var reportURL: URL { plan.folder.appendingPathComponent("report.md") }

    public func execute() throws -> Outcome {
        let rank0 = communicator.isRoot
        started = Date()
        // Rank 0 decides from its files and tells the others, so ranks without a shared file system agree.
        let existing = try agree(rank0 && FileManager.default.fileExists(atPath: plan.folder.path)
            && !((try? FileManager.default.contentsOfDirectory(atPath: plan.folder.path)) ?? []).isEmpty)
        if existing && !resume {
            throw PipelineError.exists("\(plan.folder.path) already holds a pipeline; pass --resume auto to continue it, or choose another name")
        }
        if rank0 {
            try FileManager.default.createDirectory(at: plan.folder, withIntermediateDirectories: true)
            try Data(try plan.configuration.yaml().utf8).write(to: plan.folder.appendingPathComponent("config.yaml"), options: .atomic)
        }

        // The stage count is known up front: which baselines run depends on the tuning, how many does not.
        let c = plan.configuration
        let placeholder = PipelineTuning(grid: [:], learningRates: Dictionary(uniqueKeysWithValues: plan.baselines.map { ($0, 1.0) }),
                                         best: plan.baselines[0], ranking: plan.baselines)
        let longTuned = plan.evaluatedBaselines(placeholder)
        let total = 1 + plan.metaTrainingStages.count + plan.tuningStages.count
            + plan.horizons.dropFirst().reduce(0) { $0 + plan.tuningStages(steps: $1, baselines: longTuned).count }
            + c.oracleConfigurations * c.tuningSeeds
            + plan.evaluationStages(tuning: Dictionary(uniqueKeysWithValues: plan.horizons.map { ($0, placeholder) }),
                                    oracle: c.oracleConfigurations > 0 ? OracleSchedule(learningRate: 1, warmupSteps: 0, multipliers: [:], shapes: [:]) : nil).count
        var index = 0
        func runAll(_ stages: [PipelineStage]) throws -> String? {
            for stage in stages {
                index += 1
                if try !run(stage, index: index, total: total) { return stage.id }
            }
            return nil
        }

        let tuningAtHorizon = plan.tuningStages
        // Meta-training comes first, unless it starts from the tuned baseline and so waits for the tuning.
        let metaFirst = c.startFromTunedBaseline ? [] : plan.metaTrainingStages.map(\.stage)
        if let stopped = try runAll([plan.pretrainStage] + metaFirst + tuningAtHorizon.map(\.stage)) {
            return .stopped(stage: stopped)
        }
        // Each baseline's learning rate at H: the grid point with the best held-out accuracy after H steps.
        var tuning = [c.horizon: try PipelineTuning.choose(stages: tuningAtHorizon, steps: c.horizon, runsPerPoint: c.tuningSeeds, communicator: communicator)]
        report(tuning[c.horizon]!)
        if c.startFromTunedBaseline {
            if rank0, let start = plan.startingBaseline(tuning[c.horizon]) {
                log("L3RS starts from the tuned \(start.baseline.label): λ0 = \(PipelineFormat.compact(start.learningRate)), base schedule \(start.baseline.schedule.rawValue)")
            }
            if let stopped = try runAll(plan.metaTrainingStages(startingFrom: tuning[c.horizon]).map(\.stage)) {
                return .stopped(stage: stopped)
            }
        }
        // Tuned again at every longer horizon they are compared at.
        for steps in plan.horizons.dropFirst() {
            let stages = plan.tuningStages(steps: steps, baselines: plan.evaluatedBaselines(tuning[c.horizon]!))
            if let stopped = try runAll(stages.map(\.stage)) { return .stopped(stage: stopped) }
            tuning[steps] = try PipelineTuning.choose(stages: stages, steps: steps, runsPerPoint: c.tuningSeeds, communicator: communicator)
            report(tuning[steps]!)
        }
        var oracle: OracleSearch?
        let oracleStages = plan.oracleStages(tuning[c.horizon]!)
        if !oracleStages.isEmpty {
            if let stopped = try runAll(oracleStages.map(\.stage)) { return .stopped(stage: stopped) }
            oracle = try OracleSearch.choose(oracleStages, runsPerConfiguration: c.tuningSeeds, communicator: communicator)
            if rank0, let oracle {
                log("schedule oracle: \(oracle.schedules.count) configurations; selected \(oracleStages[oracle.chosen * c.tuningSeeds].stage.id) (held-out accuracy \(PipelineFormat.percent(oracle.accuracies[oracle.chosen]))): \(oracle.selected.summary)")
            }
        }
        let evaluation = plan.evaluationStages(tuning: tuning, oracle: oracle?.selected)
        if let stopped = try runAll(evaluation.map(\.stage)) { return .stopped(stage: stopped) }

        if rank0 {
            let metadata = RunMetadata.current(ranks: communicator.size, nodes: max(communicator.size / max(communicator.localSize, 1), 1),
                                               host: communicator.hostName, started: started)
            let report = try PipelineReport(plan: plan, tuning: tuning, oracle: oracle, metadata: metadata).write()
            log("report: \(report.markdown.path), \(report.html.path) and \(report.json.path)")
        }
        try communicator.barrier()
        let seconds = Date().timeIntervalSince(started)
        if rank0 { log("pipeline \(plan.configuration.name) finished in " + ProgressReporter.duration(seconds)) }
        return .finished(seconds: seconds)
    }

    /// The tuning's choices, in the log (rank 0).
    private func report(_ tuning: PipelineTuning) {
        guard communicator.isRoot else { return }
        for baseline in tuning.ranking {
            log("tuned \(baseline.label) at \(tuning.steps) steps: learning rate \(PipelineFormat.compact(tuning.learningRates[baseline] ?? .nan))")
        }
        log("best tuned baseline at \(tuning.steps) steps (held-out accuracy): \(tuning.best.label)")
    }

    /// Rank 0's answer on every rank.
    private func agree(_ value: Bool) throws -> Bool {
        try communicator.broadcast(value ? 1 : 0, root: 0) == 1
    }

    /// Runs one stage unless it is complete; false when a stop signal ended it.
    private func run(_ stage: PipelineStage, index: Int, total: Int) throws -> Bool {
        let rank0 = communicator.isRoot
        let prefix = "[\(ProgressReporter.duration(Date().timeIntervalSince(started)))] stage \(index)/\(total) \(stage.id)"
        if try agree(rank0 && stage.isComplete) {
            if rank0 { log("\(prefix): complete, skipped") }
            return true
        }
        // A stage that never reached a checkpoint starts over: drop what it logged before it stopped.
        if try agree(rank0 && !stage.hasCheckpoint) {
            if rank0 { try? FileManager.default.removeItem(at: stage.folder) }
        }
        try communicator.barrier()
        if rank0 { log("\(prefix): running") }
        let stageLog: (String) -> Void = { [log] line in log("  [\(stage.id)] \(line)") }
        switch stage.kind {
        case let .training(configuration):
            try configuration.validate()
            let run = TrainingRun(configuration: configuration, communicator: communicator, resume: true, log: stageLog)
            if stage.id == simulatedSignalStage { run.simulatedSignalStep = simulatedSignalStep }
            if case .stopped = try run.execute() { return false }
        case let .metaTraining(configuration):
            try configuration.validate()
            let run = MetaTrainingRun(configuration: configuration, communicator: communicator, resume: true, log: stageLog)
            if case .stopped = try run.execute() { return false }
        }
        return true
    }
}

/// Errors of a pipeline as a whole (each stage reports its own).
public enum PipelineError: Error, CustomStringConvertible {
    case exists(String)
    case missingResults(String)

    public var description: String {
        switch self {
        case let .exists(message), let .missingResults(message): return message
        }
    }
}
