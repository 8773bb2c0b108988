import Checkpoints
import Optimizers

/// What the data-parallel trainer asks of an optimizer: one update of the flat parameters from the
/// allreduced gradient (and the global training loss, which L3RS's features read), and its state as
/// checkpoint contents. Two implementations: `HandDesignedUpdateRule` (the baselines) and `L3RSUpdateRule`
/// (a learned optimizer). Every rank calls `step` with identical inputs, so every rank takes the same step.
public protocol UpdateRule: AnyObject {
    /// The configuration's optimizer name, recorded in checkpoints so a resume cannot switch rules.
    var name: String { get }
    /// Updates applied so far.
    var stepCount: Int { get }

    /// One update in place; `loss` is the global mean training loss at the current parameters. `gradientNorm`:
    /// the whole gradient's norm when `gradient` is one rank's shard of it (`ShardedUpdateStep`), which the
    /// rule then uses instead of the shard's own (clipping, the skip test, the report); nil: `gradient` is whole.
    func step(parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, loss: Double,
              gradientNorm: Double?) -> UpdateReport

    /// The rule's state for a checkpoint: tensors and string metadata (names must not clash with the
    /// trainer's own "step", "world_size", "model", "optimizer").
    func checkpointContents() -> (tensors: [NamedTensor], metadata: [String: String])

    /// Restores a state written by `checkpointContents`.
    func restore(tensors: [NamedTensor], metadata: [String: String]) throws

    /// How each tensor of `checkpointContents` relates to the parameters (nil: not one of this rule's), so that
    /// `ShardedUpdateStep` can gather shards into whole tensors and cut whole tensors into shards.
    func stateTensorAxis(_ name: String) -> StateTensorAxis?
    /// Metadata keys of `checkpointContents` whose values count over layers, so add up over shards.
    var metadataSummedOverShards: Set<String> { get }
}

extension UpdateRule {
    /// One update from the whole gradient.
    public func step(parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>, loss: Double)
        -> UpdateReport {
        step(parameters: parameters, gradient: gradient, loss: loss, gradientNorm: nil)
    }

    /// Bytes of the rule's state on this rank: the tensors its checkpoint holds (moments, statistics), which
    /// sharded optimizer state divides among the ranks. Copies them, so only for reports.
    public var stateBytes: Int { checkpointContents().tensors.reduce(0) { $0 + $1.bytes.count } }
}

/// What one update did, for the metrics log.
public struct UpdateReport: Sendable, Equatable {
    /// The scheduled learning rate (hand-designed) or the mean λ over layers (L3RS).
    public var learningRate: Double
    /// Global norm of the incoming gradient.
    public var gradientNorm: Double
    /// True when the gradient was not finite and nothing changed.
    public var skipped: Bool

    public init(learningRate: Double, gradientNorm: Double, skipped: Bool) {
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.skipped = skipped
    }
}
