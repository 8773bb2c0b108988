/// A base optimizer as a pure state transition: `(s_k, g_k) ↦ (s_k+1, d_k)`, with no learning rate and no
/// weight decay in it.
///
/// The same `advance` serves the hand-designed baseline (through `direction` and `HandDesignedOptimizer`,
/// which adds the learning rate, schedule, groups and weight decay) and L3RS, which normalises and mixes the
/// directions of several rules per layer (docs/method.md §1–2). Keeping one code path is what guarantees that a
/// baseline and a base direction cannot drift apart.
///
/// `advance` works on a range of elements so that L3RS can run all its rules over one cache-sized chunk of
/// a layer at a time; rules whose direction is g, their state, or a cheap function of both
/// (`directionSource`) let L3RS find it again in its second pass instead of storing it.
///
/// Conforming types are small immutable structs holding hyperparameters; all mutable data lives in
/// `OptimizerState`, so a stored state can be replayed and each rule documents its formulas (and the
/// ingredients of its Jacobian); the rules L3RS mixes also state their adjoint (`DifferentiableDirectionRule`)
/// for second-order meta-training.
public protocol DirectionRule: Sendable {
    /// The name used in configuration files and logs ("adam", "nesterov", ...).
    var name: String { get }
    /// Where this rule's weight decay goes when it runs as a hand-designed optimizer.
    var weightDecayCoupling: WeightDecayCoupling { get }
    /// The per-element slots of `OptimizerState` this rule reads and writes: what `makeState` allocates and
    /// what `advance` checks, stated once so the two cannot disagree.
    var stateSlots: OptimizerStateSlots { get }
    /// A state at step 0 for a buffer of `count` elements, with the slots this rule uses allocated.
    func makeState(count: Int) -> OptimizerState
    /// Advances the elements `range` of `state` by one step on `gradient` (the whole buffer; only `range` is
    /// read) and writes their directions to `direction[0 ..< range.count]`, which may not alias the gradient
    /// or the state. `state.step` counts the steps before this one and is left unchanged: the caller
    /// advances it once after every range of the step has been advanced (`direction(gradient:state:into:)`
    /// does both). A step split into ranges is bit-identical to one call over the whole buffer.
    func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                 into direction: UnsafeMutablePointer<Float>)
    /// Where the step's direction can be found again after `advance`: how L3RS's fused step, which does not
    /// keep every direction in memory, gets it back for its second pass.
    var directionSource: DirectionSource { get }
    /// After a step (`state.step` already advanced): writes the directions of `range` that `advance` wrote
    /// in that step, bit for bit, to `direction[0 ..< range.count]`. Only valid when `directionSource` is not
    /// `.computed`.
    func rebuildDirection(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: OptimizerState,
                          into direction: UnsafeMutablePointer<Float>)
}

/// Where a rule's direction lies after a step (`DirectionRule.directionSource`).
public enum DirectionSource: Sendable, Equatable {
    /// Only `advance` computes it (Adam, RMSprop, Lion): L3RS stores it between its two passes.
    case computed
    /// `rebuildDirection` recomputes it from the advanced state and g at about the cost of reading them
    /// (Nesterov).
    case rebuilt
    /// It is the advanced state's first moment (heavy-ball momentum): L3RS reads it there.
    case firstMoment
    /// It is g itself and the rule keeps no per-element state (SGD): L3RS reads g and reuses g's statistics.
    case gradient
}

extension DirectionRule {
    public var directionSource: DirectionSource { .computed }

    public func makeState(count: Int) -> OptimizerState {
        OptimizerState(count: count, usesFirstMoment: stateSlots.contains(.firstMoment),
                       usesSecondMoment: stateSlots.contains(.secondMoment))
    }

    /// The start of `advance`: checks that `range` lies inside `gradient` and inside each slot of `state` this
    /// rule uses, and returns g's element at `range.lowerBound`, or nil when there is nothing to advance.
    @inline(__always)
    func checkedGradientStart(_ range: Range<Int>, of gradient: UnsafeBufferPointer<Float>,
                              state: OptimizerState) -> UnsafePointer<Float>? {
        precondition(range.lowerBound >= 0 && range.upperBound <= gradient.count,
                     "\(name): range \(range) outside a gradient of \(gradient.count) elements")
        precondition(!stateSlots.contains(.firstMoment) || state.firstMoment.count == gradient.count,
                     "\(name): state has \(state.firstMoment.count) first-moment elements, gradient \(gradient.count)")
        precondition(!stateSlots.contains(.secondMoment) || state.secondMoment.count == gradient.count,
                     "\(name): state has \(state.secondMoment.count) second-moment elements, gradient \(gradient.count)")
        guard let g = gradient.baseAddress, !range.isEmpty else { return nil }
        return g + range.lowerBound
    }

    public func rebuildDirection(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: OptimizerState,
                                 into direction: UnsafeMutablePointer<Float>) {
        preconditionFailure("\(name) cannot rebuild its direction from its state (directionSource .computed)")
    }

    /// Advances `state` by one step on the whole `gradient` and writes the direction d into `direction`
    /// (same count; may not alias `gradient`). No allocation happens when `state` is uniquely referenced.
    public func direction(
        gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState,
        into direction: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(direction.count == gradient.count,
                     "\(name): direction has \(direction.count) elements, gradient \(gradient.count)")
        if let target = direction.baseAddress {
            advance(0..<gradient.count, gradient: gradient, state: &state, into: target)
        }
        state.step += 1
    }

    /// Array convenience for tests and small callers; the hot path uses the buffer-pointer form.
    public func direction(gradient: [Float], state: inout OptimizerState) -> [Float] {
        var result = [Float](repeating: 0, count: gradient.count)
        gradient.withUnsafeBufferPointer { g in
            result.withUnsafeMutableBufferPointer { d in
                direction(gradient: g, state: &state, into: d)
            }
        }
        return result
    }
}
