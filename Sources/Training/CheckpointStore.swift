import Checkpoints
import Foundation
import Network
import Optimizers

/// Checkpoints of a run under runs/NAME/checkpoints/step-NNNNNNNN/: the model as safetensors (PyTorch names),
/// the trainer state (optimizer moments, step, world size) as a second safetensors file, and a COMPLETE marker
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
        public var optimizer: OptimizerState
        public var optimizerName: String
    }

    func stepFolder(_ step: Int) -> URL {
        folder.appendingPathComponent(String(format: "step-%08d", step))
    }

    /// Writes a checkpoint for `state.step`: files first, then the marker, then old checkpoints are pruned.
    public func save(model: Model, state: TrainerState, extraMetadata: [String: String] = [:]) throws {
        let target = stepFolder(state.step)
        let manager = FileManager.default
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
        try? manager.removeItem(at: target.appendingPathComponent(Self.markerName))
        var metadata = extraMetadata
        metadata["step"] = String(state.step)
        try ModelWeights.save(model, to: target.appendingPathComponent(Self.modelFileName).path, metadata: metadata)

        var tensors: [NamedTensor] = []
        if !state.optimizer.firstMoment.isEmpty {
            tensors.append(NamedTensor(name: "optimizer.first_moment", shape: [state.optimizer.firstMoment.count], floats: state.optimizer.firstMoment))
        }
        if !state.optimizer.secondMoment.isEmpty {
            tensors.append(NamedTensor(name: "optimizer.second_moment", shape: [state.optimizer.secondMoment.count], floats: state.optimizer.secondMoment))
        }
        let stateMetadata = [
            "step": String(state.step), "world_size": String(state.worldSize), "model": state.modelName,
            "optimizer": state.optimizerName, "optimizer_step": String(state.optimizer.step),
        ]
        try Safetensors.write(TensorFile(tensors: tensors, metadata: stateMetadata),
                              to: target.appendingPathComponent(Self.stateFileName).path)
        try AtomicFile.write(Array("\(state.step)\n".utf8), to: target.appendingPathComponent(Self.markerName).path)
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

    /// Loads the newest complete checkpoint into `model` and returns its trainer state (nil when none).
    public func loadLatest(into model: Model) throws -> TrainerState? {
        guard let step = completeSteps().first else { return nil }
        let target = stepFolder(step)
        try ModelWeights.load(into: model, from: target.appendingPathComponent(Self.modelFileName).path)
        let statePath = target.appendingPathComponent(Self.stateFileName).path
        let file = try Safetensors.read(statePath)
        func number(_ key: String) throws -> Int {
            guard let text = file.metadata[key], let value = Int(text) else {
                throw TrainingError.checkpoint("\(statePath): metadata '\(key)' is missing or not an integer")
            }
            return value
        }
        let optimizer = OptimizerState(step: try number("optimizer_step"),
                                       firstMoment: file["optimizer.first_moment"]?.floats() ?? [],
                                       secondMoment: file["optimizer.second_moment"]?.floats() ?? [])
        return TrainerState(step: try number("step"), worldSize: try number("world_size"),
                            modelName: file.metadata["model"] ?? "", optimizer: optimizer,
                            optimizerName: file.metadata["optimizer"] ?? "")
    }

    private func prune() throws {
        for step in completeSteps().dropFirst(keep) {
            try FileManager.default.removeItem(at: stepFolder(step))
        }
    }
}
