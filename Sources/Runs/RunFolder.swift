import Checkpoints
import Distributed
import Foundation
import Reports

/// One run's folder, runs/NAME/, as every long job uses it (fine-tuning, pre-training, meta-training, the
/// pipeline's stages): the lock that keeps a second process out, the configuration dump, the checkpoints with
/// the configuration record in them, resume (refusing a changed configuration unless allowed, and recording an
/// allowed change), rewinding logs to the resumed step, and the summary. Rank 0 writes; every rank reads.
public final class RunFolder {
    public let url: URL
    public let checkpoints: CheckpointStore
    public let communicator: any Communicator
    /// What this run computes; written into every checkpoint and compared on resume.
    public let record: ConfigurationRecord
    /// Resume even when the checkpoint's record differs (the differences go to configuration-changes.log).
    public var allowChangedConfiguration = false
    let log: (String) -> Void
    private var lock: RunLock?

    public static let configurationFileName = "config.yaml"
    public static let metricsFileName = "metrics.jsonl"
    public static let summaryFileName = "summary.txt"
    public static let configurationChangesFileName = "configuration-changes.log"

    public init(runsDirectory: String, name: String, keepCheckpoints: Int, record: ConfigurationRecord,
                communicator: any Communicator, log: @escaping (String) -> Void) {
        url = URL(fileURLWithPath: runsDirectory).appendingPathComponent(name)
        checkpoints = CheckpointStore(folder: url.appendingPathComponent("checkpoints"), keep: keepCheckpoints)
        self.record = record
        self.communicator = communicator
        self.log = log
    }

    /// A file of the run folder.
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Takes the run's lock (rank 0; every rank learns the outcome), prunes unfinished checkpoint folders, and
    /// returns `files` of the checkpoint to resume from when `resume` is set (nil: start fresh). Rank 0 decides
    /// both whether the folder already holds checkpoints and which one is resumed; every rank then reads exactly
    /// that one or every rank fails together (`loadAgreedCheckpoint`). A folder with checkpoints that is not
    /// resumed, and a checkpoint of another configuration, are errors on every rank.
    public func open(resume: Bool, files: [String]) throws -> CheckpointStore.Loaded? {
        var failure: RunError?
        if communicator.isRoot {
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                let lock = try RunLock(folder: url)
                if let stale = lock.staleOwner { log("warning: took over the stale lock of \(stale) (\(lock.path)); that process is gone") }
                self.lock = lock
                try checkpoints.prune()
                if !resume && !checkpoints.completeSteps().isEmpty { throw RunError.exists(folder: url.path) }
            } catch let error as RunError {
                failure = error
            }
        }
        // Rank 0 prints its own error; the others only need one with the same exit status.
        if try communicator.broadcast(failure == nil ? 1 : 0, root: 0) == 0 {
            throw failure ?? .locked(path: file(RunLock.fileName).path, owner: "another process")
        }
        guard resume, let loaded = try loadAgreedCheckpoint(files: files) else { return nil }
        if let stored = loaded.files.values.lazy.compactMap({ ConfigurationRecord(metadata: $0.metadata) }).first {
            let differences = record.differences(from: stored)
            if !differences.isEmpty {
                guard allowChangedConfiguration else { throw RunError.changedConfiguration(folder: url.path, differences: differences) }
                if communicator.isRoot { try recordChange(differences, step: loaded.step) }
            }
        }
        return loaded
    }

    /// Appends an allowed configuration change to configuration-changes.log and says so.
    private func recordChange(_ differences: [String], step: Int) throws {
        let line = "\(ISO8601DateFormatter().string(from: Date())) resumed at step \(step) with --allow-changed-configuration: "
            + differences.joined(separator: "; ")
        log("warning: " + line)
        let url = file(Self.configurationChangesFileName)
        let previous = (try? Data(contentsOf: url)) ?? Data()
        try (previous + Data((line + "\n").utf8)).write(to: url, options: .atomic)
    }

    /// Rank 0: writes the resolved configuration as config.yaml.
    public func writeConfiguration(_ yaml: String) throws {
        guard communicator.isRoot else { return }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data(yaml.utf8).write(to: file(Self.configurationFileName), options: .atomic)
    }

    /// Rank 0: drops records above `step` from each log that exists (a resumed run repeats those steps).
    public func rewindLogs(_ names: [String], key: String, above step: Int) throws {
        guard communicator.isRoot else { return }
        for name in names where FileManager.default.fileExists(atPath: file(name).path) {
            try MetricsLog.truncate(url: file(name), key: key, above: Double(step))
        }
    }

    /// Writes the checkpoint of `step` (rank 0, with the configuration record in every file's metadata), then
    /// waits for every rank, so no rank runs ahead of a checkpoint that may still fail.
    public func saveCheckpoint(step: Int, files: () throws -> [(name: String, file: TensorFile)]) throws {
        if communicator.isRoot {
            let recorded = try files().map { entry -> (name: String, file: TensorFile) in
                var file = entry.file
                file.metadata.merge(record.metadata) { _, new in new }
                return (entry.name, file)
            }
            try checkpoints.save(step: step, files: recorded)
        }
        try communicator.barrier()
    }

    /// The newest complete checkpoint's folder, for messages.
    public var newestCheckpoint: String? { checkpoints.completeSteps().first.map { checkpoints.stepFolder($0).path } }

    /// Rank 0: writes summary.txt, the file a run writes last (the pipeline treats it as "complete").
    public func writeSummary(_ line: String) throws {
        guard communicator.isRoot else { return }
        try Data((line + "\n").utf8).write(to: file(Self.summaryFileName), options: .atomic)
    }
}

extension RunFolder {
    /// The end of step `step` of `total`, the same for every trainer: a diverged run stops with
    /// `DivergenceError` (its last good checkpoint untouched); a stop signal writes a checkpoint and ends the run
    /// (true); otherwise `checkpoint` runs every `checkpointEvery` steps and at the last, but not during a
    /// streak of bad steps. `unit` names a step in messages ("step", "meta-step").
    public func endStep(_ step: Int, of total: Int, checkpointEvery: Int, stopRequested: Bool,
                        divergence: DivergenceGuard, diverged: Bool, divergenceReason: String, unit: String,
                        progress: ProgressReporter, checkpoint: () throws -> Void) throws -> Bool {
        if diverged {
            progress.finish()
            throw DivergenceError(step: step, reason: divergenceReason, consecutive: divergence.consecutive,
                                  lastCheckpoint: newestCheckpoint)
        }
        if stopRequested {
            try checkpoint()
            progress.finish()
            if communicator.isRoot { log("stop signal received: checkpoint of \(unit) \(step) written to \(checkpoints.folder.path)") }
            return true
        }
        if divergence.consecutive == 0 && (step == total || (checkpointEvery > 0 && step % checkpointEvery == 0)) {
            try checkpoint()
        }
        return false
    }
}
