/// A base optimizer as a pure state transition: `(s_k, g_k) ↦ (s_k+1, d_k)`, with no learning rate and no
/// weight decay in it.
///
/// The same `direction` serves the hand-designed baseline (through `HandDesignedOptimizer`, which adds the
/// learning rate, schedule, groups and weight decay) and L3RS, which normalises and mixes the directions of
/// several rules per layer (method.md §1–2). Keeping one code path is what guarantees that a baseline and a
/// base direction cannot drift apart.
///
/// Conforming types are small immutable structs holding hyperparameters; all mutable data lives in
/// `OptimizerState`, so a stored state can be replayed and each rule documents its formulas (and the
/// ingredients of its Jacobian) for second-order meta-training.
public protocol DirectionRule: Sendable {
    /// The name used in configuration files and logs ("adam", "nesterov", ...).
    var name: String { get }
    /// Where this rule's weight decay goes when it runs as a hand-designed optimizer.
    var weightDecayCoupling: WeightDecayCoupling { get }
    /// A state at step 0 for a buffer of `count` elements, with the slots this rule uses allocated.
    func makeState(count: Int) -> OptimizerState
    /// Advances `state` by one step on `gradient` and writes the direction d into `direction`.
    /// `gradient`, `direction` and the state's slots must all have the same count. `direction` may not
    /// alias `gradient`. No allocation happens when `state` is uniquely referenced.
    func direction(
        gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState,
        into direction: UnsafeMutableBufferPointer<Float>
    )
}

extension DirectionRule {
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

/// Checks the shared preconditions of every rule: equal counts for gradient, direction and used slots.
@inline(__always)
func checkDirectionShapes(
    _ rule: String,
    gradient: UnsafeBufferPointer<Float>,
    direction: UnsafeMutableBufferPointer<Float>,
    state: OptimizerState,
    usesFirstMoment: Bool,
    usesSecondMoment: Bool
) {
    let count = gradient.count
    precondition(direction.count == count, "\(rule): direction has \(direction.count) elements, gradient \(count)")
    precondition(!usesFirstMoment || state.firstMoment.count == count,
                 "\(rule): state has \(state.firstMoment.count) first-moment elements, gradient \(count)")
    precondition(!usesSecondMoment || state.secondMoment.count == count,
                 "\(rule): state has \(state.secondMoment.count) second-moment elements, gradient \(count)")
}
