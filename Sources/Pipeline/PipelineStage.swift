import Foundation
import MetaTraining
import Runs
import Training

/// One sub-run of the pipeline: a fine-tune (or pre-training) or a meta-training, in its own run folder under
/// the pipeline's folder, so each is resumable with the trainers' own checkpoints.
public struct PipelineStage: Sendable {
    public enum Kind: Sendable {
        case training(TrainingConfiguration)
        case metaTraining(MetaTrainingConfiguration)
    }

    /// The folder relative to the pipeline's folder (`eval-seen/adam-cosine`): the stage's name in logs.
    public var id: String
    public var kind: Kind

    /// The run folder.
    public var folder: URL {
        switch kind {
        case let .training(c): return URL(fileURLWithPath: c.runsDirectory).appendingPathComponent(c.name)
        case let .metaTraining(c): return URL(fileURLWithPath: c.runsDirectory).appendingPathComponent(c.name)
        }
    }

    /// A stage is complete once its run wrote summary.txt, which both trainers write last.
    public var isComplete: Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("summary.txt").path)
    }

    /// The stage has a complete checkpoint to continue from.
    public var hasCheckpoint: Bool {
        !CheckpointStore(folder: folder.appendingPathComponent("checkpoints")).completeSteps().isEmpty
    }
}
