import Checkpoints
import Foundation
import Network
import Runs

/// The trainer's checkpoint in a `CheckpointStore`: the model as safetensors (PyTorch names) and the trainer
/// state (the update rule's state, step, world size, model and optimizer names) as a second file.
extension CheckpointStore {
    public static let modelFileName = "model.safetensors"
    public static let stateFileName = "trainer-state.safetensors"

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

        /// The state as read back from a checkpoint's trainer-state file.
        init(file: TensorFile, source: String) throws {
            func number(_ key: String) throws -> Int {
                guard let text = file.metadata[key], let value = Int(text) else {
                    throw TrainingError.checkpoint("\(source): metadata '\(key)' is missing or not an integer")
                }
                return value
            }
            self.init(step: try number("step"), worldSize: try number("world_size"),
                      modelName: file.metadata["model"] ?? "", optimizerName: file.metadata["optimizer"] ?? "",
                      optimizerTensors: file.tensors, optimizerMetadata: file.metadata)
        }
    }

    /// The two files of a trainer checkpoint for `state.step`.
    public static func trainerFiles(model: Model, state: TrainerState, extraMetadata: [String: String] = [:])
        -> [(name: String, file: TensorFile)] {
        var metadata = extraMetadata
        metadata["step"] = String(state.step)
        var stateMetadata = state.optimizerMetadata
        for (key, value) in ["step": String(state.step), "world_size": String(state.worldSize),
                             "model": state.modelName, "optimizer": state.optimizerName] {
            stateMetadata[key] = value
        }
        return [
            (modelFileName, ModelWeights.tensorFile(of: model, metadata: metadata)),
            (stateFileName, TensorFile(tensors: state.optimizerTensors, metadata: stateMetadata)),
        ]
    }

    /// Writes a checkpoint for `state.step`: files first, then the marker, then old checkpoints are pruned.
    public func save(model: Model, state: TrainerState, extraMetadata: [String: String] = [:]) throws {
        try save(step: state.step, files: Self.trainerFiles(model: model, state: state, extraMetadata: extraMetadata))
    }

    /// Loads the newest intact complete checkpoint into `model` and returns its trainer state (nil when none);
    /// damaged ones are named through `warn` and skipped.
    public func loadLatest(into model: Model, warn: (String) -> Void = { _ in }) throws -> TrainerState? {
        guard let loaded = try loadNewestIntact(files: [Self.modelFileName, Self.stateFileName], warn: warn) else { return nil }
        return try Self.restore(loaded, into: model)
    }

    /// Puts a loaded trainer checkpoint's model into `model` and returns its trainer state.
    public static func restore(_ loaded: Loaded, into model: Model) throws -> TrainerState {
        try ModelWeights.load(into: model, from: loaded.files[modelFileName]!, source: loaded.paths[modelFileName]!)
        return try TrainerState(file: loaded.files[stateFileName]!, source: loaded.paths[stateFileName]!)
    }
}
