import Checkpoints
import Optimizers

/// The trainer's rule for the hand-designed baselines: `HandDesignedOptimizer` unchanged (schedule, groups,
/// weight decay, clipping), its state checkpointed as "optimizer.first_moment"/"optimizer.second_moment" and
/// "optimizer_step", the layout checkpoints have always had.
public final class HandDesignedUpdateRule: UpdateRule {
    public let name: String
    public private(set) var optimizer: HandDesignedOptimizer

    public init(name: String, optimizer: HandDesignedOptimizer) {
        self.name = name
        self.optimizer = optimizer
    }

    public var stepCount: Int { optimizer.state.step }

    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, loss: Double,
                     gradientNorm: Double?) -> UpdateReport {
        let report = optimizer.step(parameters: parameters, gradient: gradient, gradientNorm: gradientNorm)
        return UpdateReport(learningRate: report.learningRate, gradientNorm: report.gradientNorm, skipped: report.skipped)
    }

    public func checkpointContents() -> (tensors: [NamedTensor], metadata: [String: String]) {
        let state = optimizer.state
        var tensors: [NamedTensor] = []
        if !state.firstMoment.isEmpty {
            tensors.append(NamedTensor(name: "optimizer.first_moment", shape: [state.firstMoment.count], floats: state.firstMoment))
        }
        if !state.secondMoment.isEmpty {
            tensors.append(NamedTensor(name: "optimizer.second_moment", shape: [state.secondMoment.count], floats: state.secondMoment))
        }
        return (tensors, ["optimizer_step": String(state.step)])
    }

    /// Both moments are per element.
    public func stateTensorAxis(_ name: String) -> StateTensorAxis? {
        ["optimizer.first_moment", "optimizer.second_moment"].contains(name) ? .elements : nil
    }

    public var metadataSummedOverShards: Set<String> { [] }

    public func restore(tensors: [NamedTensor], metadata: [String: String]) throws {
        guard let text = metadata["optimizer_step"], let step = Int(text) else {
            throw TrainingError.checkpoint("checkpoint metadata 'optimizer_step' is missing or not an integer")
        }
        let file = TensorFile(tensors: tensors)
        optimizer.state = OptimizerState(step: step, firstMoment: file["optimizer.first_moment"]?.floats() ?? [],
                                         secondMoment: file["optimizer.second_moment"]?.floats() ?? [])
    }
}
