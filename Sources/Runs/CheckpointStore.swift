import Checkpoints
import Foundation
import Network

/// Checkpoints of a run under runs/NAME/checkpoints/step-NNNNNNNN/: the model as safetensors (PyTorch names),
/// the trainer state (the update rule's state, step, world size) as a second safetensors file, and a COMPLETE marker
/// written last. A folder without the marker (a run killed while writing) is never resumed from. Only rank 0
/// writes; every rank reads.
public struct CheckpointStore {
    public let folder: URL
    /// Complete checkpoints kept; older ones are removed after a new one is complete.
    public let keep: Int

    public static let markerName = "COMPLETE"
    public static let modelFileName = "model.safetensors"
    public static let stateFileName = "trainer-state.safetensors"

    public init(folder: URL, keep: Int = 2) {
        self.folder = folder
        self.keep = max(1, keep)
    }

    /// What a checkpoint holds besides the model.
    public struct TrainerState: Equatable, Sendable {
        public var step: Int
        public var worldSize: Int
        public var modelName: String
        public var optimizerName: String
        /// The update rule's state (`UpdateRule.checkpointContents`).
        public var optimizerTensors: [NamedTensor]
        public var optimizerMetadata: [String: String]

        public init(step: Int, worldSize: Int, modelName: String, optimizerName: String,
                    optimizerTensors: [NamedTensor], optimizerMetadata: [String: String]) {
            self.step = step
            self.worldSize = worldSize
            self.modelName = modelName
            self.optimizerName = optimizerName
            self.optimizerTensors = optimizerTensors
            self.optimizerMetadata = optimizerMetadata
        }
    }

    func stepFolder(_ step: Int) -> URL {
        folder.appendingPathComponent(String(format: "step-%08d", step))
    }

    /// Writes a checkpoint for `state.step`: files first, then the marker, then old checkpoints are pruned.
    public func save(model: Model, state: TrainerState, extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        metadata["step"] = String(state.step)
        var stateMetadata = state.optimizerMetadata
        for (key, value) in ["step": String(state.step), "world_size": String(state.worldSize),
                             "model": state.modelName, "optimizer": state.optimizerName] {
            stateMetadata[key] = value
        }
        try save(step: state.step, files: [
            (Self.modelFileName, ModelWeights.tensorFile(of: model, metadata: metadata)),
            (Self.stateFileName, TensorFile(tensors: state.optimizerTensors, metadata: stateMetadata)),
        ])
    }

    /// Writes any set of safetensors files as the checkpoint of `step` (the meta-trainer's state uses this):
    /// every file atomically, then the COMPLETE marker, then older checkpoints beyond `keep` are removed.
    public func save(step: Int, files: [(name: String, file: TensorFile)]) throws {
        let target = stepFolder(step)
        let manager = FileManager.default
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
        try? manager.removeItem(at: target.appendingPathComponent(Self.markerName))
        for (name, file) in files {
            try Safetensors.write(file, to: target.appendingPathComponent(name).path)
        }
        try AtomicFile.write(Array("\(step)\n".utf8), to: target.appendingPathComponent(Self.markerName).path)
        try prune()
    }

    /// Steps of complete checkpoints, newest first.
    public func completeSteps() -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            let marker = stepFolder(step).appendingPathComponent(Self.markerName).path
            return FileManager.default.fileExists(atPath: marker) ? step : nil
        }.sorted(by: >)
    }

    /// The path of file `name` in the checkpoint of `step`.
    public func path(step: Int, file name: String) -> String {
        stepFolder(step).appendingPathComponent(name).path
    }

    /// Loads the newest complete checkpoint into `model` and returns its trainer state (nil when none).
    public func loadLatest(into model: Model) throws -> TrainerState? {
        guard let step = completeSteps().first else { return nil }
        try ModelWeights.load(into: model, from: path(step: step, file: Self.modelFileName))
        let statePath = path(step: step, file: Self.stateFileName)
        let file = try Safetensors.read(statePath)
        func number(_ key: String) throws -> Int {
            guard let text = file.metadata[key], let value = Int(text) else {
                throw TrainingError.checkpoint("\(statePath): metadata '\(key)' is missing or not an integer")
            }
            return value
        }
        return TrainerState(step: try number("step"), worldSize: try number("world_size"),
                            modelName: file.metadata["model"] ?? "", optimizerName: file.metadata["optimizer"] ?? "",
                            optimizerTensors: file.tensors, optimizerMetadata: file.metadata)
    }

    private func prune() throws {
        for step in completeSteps().dropFirst(keep) {
            try FileManager.default.removeItem(at: stepFolder(step))
        }
    }
}
