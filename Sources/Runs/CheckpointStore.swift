import Checkpoints
import Foundation

/// Checkpoints of a run under runs/NAME/checkpoints/step-NNNNNNNN/: any set of safetensors files (the
/// trainer's model and state, the meta-trainer's state) and a COMPLETE marker written last. A folder without
/// the marker (a run killed while writing, a full disk) is never resumed from and is pruned when the run is
/// reopened and by the next save; a complete checkpoint whose files fail their checksums is skipped with a
/// warning for the one before it. Only rank 0 writes; on a resume rank 0 chooses the checkpoint and every other
/// rank reads exactly that one (`RunFolder.open`).
public struct CheckpointStore {
    public let folder: URL
    /// Complete checkpoints kept; older ones are removed after a new one is complete.
    public let keep: Int

    public static let markerName = "COMPLETE"

    public init(folder: URL, keep: Int = 2) {
        self.folder = folder
        self.keep = max(1, keep)
    }

    func stepFolder(_ step: Int) -> URL {
        folder.appendingPathComponent(String(format: "step-%08d", step))
    }

    /// Writes any set of safetensors files as the checkpoint of `step`: every file atomically, then the
    /// COMPLETE marker, then incomplete step folders and complete ones beyond `keep` are removed.
    public func save(step: Int, files: [(name: String, file: TensorFile)]) throws {
        let target = stepFolder(step)
        let manager = FileManager.default
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
        try? manager.removeItem(at: target.appendingPathComponent(Self.markerName))
        for (name, file) in files {
            try Safetensors.write(file, to: target.appendingPathComponent(name).path, checksums: true)
        }
        try AtomicFile.write(Array("\(step)\n".utf8), to: target.appendingPathComponent(Self.markerName).path)
        try prune()
    }

    /// Steps of every step folder, complete or not, newest first.
    private func allSteps() -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("step-") else { return nil }
            return Int(name.dropFirst(5))
        }.sorted(by: >)
    }

    private func isComplete(_ step: Int) -> Bool {
        FileManager.default.fileExists(atPath: stepFolder(step).appendingPathComponent(Self.markerName).path)
    }

    /// Steps of complete checkpoints, newest first.
    public func completeSteps() -> [Int] { allSteps().filter(isComplete) }

    /// Steps of folders without the COMPLETE marker (a write that never finished), newest first.
    public func incompleteSteps() -> [Int] { allSteps().filter { !isComplete($0) } }

    /// The path of file `name` in the checkpoint of `step`.
    public func path(step: Int, file name: String) -> String {
        stepFolder(step).appendingPathComponent(name).path
    }

    /// A checkpoint read back whole: its step and its files by name.
    public struct Loaded {
        public let step: Int
        public let files: [String: TensorFile]
        /// Where file `name` was read from, for messages.
        public let paths: [String: String]
    }

    /// Reads `files` of the checkpoint of `step` and nothing else (no fallback to an earlier one): a rank joining
    /// a resume reads the step rank 0 chose. Throws when that step is not complete here or a file fails its checks.
    public func load(step: Int, files names: [String]) throws -> Loaded {
        guard isComplete(step) else {
            throw CheckpointError(file: stepFolder(step).path, "no complete checkpoint here (no \(Self.markerName) marker)")
        }
        var files: [String: TensorFile] = [:]
        var paths: [String: String] = [:]
        for name in names {
            let path = path(step: step, file: name)
            files[name] = try Safetensors.read(path)
            paths[name] = path
        }
        return Loaded(step: step, files: files, paths: paths)
    }

    /// Reads `files` of the newest complete checkpoint whose files all read back intact (header, layout and
    /// per-tensor checksums); a damaged one is named through `warn` and the one before it is tried. Nil when
    /// there is no complete checkpoint; an error naming every damaged one when none is intact.
    public func loadNewestIntact(files names: [String], warn: (String) -> Void) throws -> Loaded? {
        let steps = completeSteps()
        guard !steps.isEmpty else { return nil }
        var damaged: [String] = []
        for step in steps {
            let loaded: Loaded
            do {
                loaded = try load(step: step, files: names)
            } catch {
                damaged.append("\(error)")
                warn("warning: checkpoint \(stepFolder(step).path) is damaged and is skipped (\(error))")
                continue
            }
            if !damaged.isEmpty { warn("warning: resuming from the previous intact checkpoint, \(stepFolder(step).path)") }
            return loaded
        }
        throw CheckpointError(file: folder.path, "every complete checkpoint is damaged: " + damaged.joined(separator: "; "))
    }

    /// Removes incomplete step folders and complete checkpoints beyond `keep`.
    public func prune() throws {
        for step in incompleteSteps() + completeSteps().dropFirst(keep) {
            try FileManager.default.removeItem(at: stepFolder(step))
        }
    }
}
