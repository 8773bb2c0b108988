/// The complete state of one base optimizer over a flat parameter buffer: a step counter and up to two
/// per-element moment buffers.
///
/// Why one struct for every optimizer: L3RS keeps P base optimizers side by side and meta-training stores,
/// replays and differentiates through their states (docs/method.md §5). A single value type with named slots makes
/// `[OptimizerState]` storable, copyable and checkpointable without type erasure. Each optimizer documents
/// which slots it uses; unused slots stay empty (no memory).
///
/// Value semantics: copying a state and advancing either copy leaves the other untouched (copy-on-write of
/// the arrays), so a stored state can be re-run exactly. Advancing a state that is not shared mutates its
/// arrays in place: no allocation per step.
public struct OptimizerState: Sendable, Equatable {
    /// Number of transitions taken so far; the first call to `direction` sees `step == 0` and leaves 1.
    /// Adam's bias correction and the hand-designed trainer's schedule both read it.
    public var step: Int
    /// First per-element slot: the momentum buffer (momentum, Nesterov), the first moment m (Adam, AdamW),
    /// or the interpolation momentum (Lion). Empty for SGD and RMSprop.
    public var firstMoment: [Float]
    /// Second per-element slot: the uncentred second moment v (Adam, AdamW, RMSprop). Empty otherwise.
    public var secondMoment: [Float]

    /// A state at step 0 with zeroed slots: `usesFirstMoment`/`usesSecondMoment` choose which slots hold
    /// `count` elements.
    public init(count: Int, usesFirstMoment: Bool, usesSecondMoment: Bool) {
        precondition(count >= 0, "OptimizerState: negative element count \(count)")
        step = 0
        firstMoment = usesFirstMoment ? [Float](repeating: 0, count: count) : []
        secondMoment = usesSecondMoment ? [Float](repeating: 0, count: count) : []
    }

    /// A state with explicit contents, for restoring a checkpoint or setting up a test.
    public init(step: Int, firstMoment: [Float], secondMoment: [Float]) {
        self.step = step
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }
}
