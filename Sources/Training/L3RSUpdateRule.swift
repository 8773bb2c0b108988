import Checkpoints
import LearnedOptimizer
import Optimizers

/// The trainer's rule for a learned optimizer: `L3RSOptimizer` with fixed φ and its evolving `L3RSState`.
/// λ_l and μ_l,p of the last step stay readable for the per-step log (runs/NAME/l3rs.jsonl). A non-finite
/// gradient or loss skips the step, as the hand-designed rule does, so one bad batch cannot poison the
/// base-optimizer moments and feature averages.
public final class L3RSUpdateRule: UpdateRule {
    public let name = "l3rs"
    public private(set) var optimizer: L3RSOptimizer
    public private(set) var state: L3RSState

    /// `horizon`: the steps the run takes, which a rule with horizon features reads as H.
    public init(optimizer: L3RSOptimizer, horizon: Int = 0) {
        self.optimizer = optimizer
        state = optimizer.makeState()
        state.horizon = horizon
    }

    /// See `L3RSOptimizer.shareStatistics(across:)` (sharded optimizer state).
    public func shareStatistics(across: AcrossShardLayers) { optimizer.shareStatistics(across: across) }

    public var stepCount: Int { state.step }
    /// λ_l of the last step, per layer.
    public var lastStepSizes: [Float] { optimizer.lastStepSizes }
    /// μ_l,p of the last step, row-major [layer, base].
    public var lastMixingWeights: [Float] { optimizer.lastMixingWeights }

    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, loss: Double,
                     gradientNorm: Double?) -> UpdateReport {
        // One serial Double sum here cost as much as the L3RS update itself on a small model.
        let norm = gradientNorm ?? GradientClipping.globalNorm(gradient)
        guard norm.isFinite, loss.isFinite else {
            return UpdateReport(learningRate: 0, gradientNorm: norm, skipped: true)
        }
        optimizer.step(parameters: parameters, gradient: gradient, loss: Float(loss), state: &state)
        let sizes = optimizer.lastStepSizes
        let meanStep = sizes.reduce(0.0) { $0 + Double($1) } / Double(max(sizes.count, 1))
        return UpdateReport(learningRate: meanStep, gradientNorm: norm, skipped: false)
    }

    public func checkpointContents() -> (tensors: [NamedTensor], metadata: [String: String]) {
        (state.checkpointTensors, state.checkpointMetadata)
    }

    public func stateTensorAxis(_ name: String) -> StateTensorAxis? { L3RSState.checkpointTensorAxis(name) }

    public var metadataSummedOverShards: Set<String> { L3RSState.checkpointMetadataSummedOverLayers }

    public func restore(tensors: [NamedTensor], metadata: [String: String]) throws {
        do {
            state = try L3RSState(checkpointTensors: tensors, metadata: metadata, template: optimizer.makeState())
        } catch {
            throw TrainingError.checkpoint("L3RS state in the checkpoint: \(error)")
        }
    }
}
