/// Which per-element slots of `OptimizerState` a `DirectionRule` uses (`DirectionRule.stateSlots`); the
/// others stay empty and take no memory.
public struct OptimizerStateSlots: OptionSet, Sendable {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// `OptimizerState.firstMoment`: momentum buffer or first moment m.
    public static let firstMoment = OptimizerStateSlots(rawValue: 1 << 0)
    /// `OptimizerState.secondMoment`: the uncentred second moment v.
    public static let secondMoment = OptimizerStateSlots(rawValue: 1 << 1)
}
