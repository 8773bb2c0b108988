import Kernels

/// A contiguous slice of the flat parameter buffer that shares one learning-rate multiplier and one
/// weight-decay flag (PyTorch's "param group", restricted to a slice of the flat buffer).
///
/// Why slices: the model keeps one flat parameter buffer and a layer table of (name, offset, count); a group
/// is one layer or a run of adjacent layers. Typical uses: the classification head gets a 10× learning-rate
/// multiplier in some baselines (docs/method.md §6), and biases and norm parameters get no weight decay. A group
/// may carry its own schedule (the pipeline's schedule oracle searches per-layer-group warm-up and decay
/// shapes); otherwise it follows the optimizer's.
public struct ParameterGroup: FlatBufferSlice, Sendable, Equatable, Codable {
    /// A label for logs and errors (a layer name, or "head", "no-decay", ...).
    public var name: String
    /// First element of the slice in the flat buffer.
    public var offset: Int
    /// Number of elements in the slice.
    public var count: Int
    /// Multiplies the scheduled learning rate for this group.
    public var learningRateMultiplier: Double
    /// Whether the optimizer's weight decay applies to this group.
    public var appliesWeightDecay: Bool
    /// This group's own schedule; nil follows the optimizer's. The group's rate at step k is then
    /// learningRate × schedule(k) × learningRateMultiplier.
    public var schedule: LearningRateSchedule?

    public init(name: String, offset: Int, count: Int, learningRateMultiplier: Double = 1,
                appliesWeightDecay: Bool = true, schedule: LearningRateSchedule? = nil) {
        self.name = name
        self.offset = offset
        self.count = count
        self.learningRateMultiplier = learningRateMultiplier
        self.appliesWeightDecay = appliesWeightDecay
        self.schedule = schedule
    }

    /// One group covering a whole buffer: the default when no per-group rules are configured.
    public static func whole(count: Int) -> [ParameterGroup] {
        [ParameterGroup(name: "all", offset: 0, count: count)]
    }

    /// The groups as seen by the elements `range` of the buffer alone, offsets counted from its start: each
    /// group cut to the range, the ones outside it dropped (one rank's shard under sharded optimizer state).
    public static func restricted(_ groups: [ParameterGroup], to range: Range<Int>) -> [ParameterGroup] {
        groups.compactMap { group in
            let overlap = group.range.clamped(to: range)
            guard !overlap.isEmpty else { return nil }
            var cut = group
            cut.offset = overlap.lowerBound - range.lowerBound
            cut.count = overlap.count
            return cut
        }
    }

    /// Checks that `groups` cover `0..<parameterCount` exactly once each (no gaps, no overlaps) with finite,
    /// non-negative multipliers. A gap would leave parameters silently untrained, so it is an error.
    public static func validate(_ groups: [ParameterGroup], parameterCount: Int) throws(ParameterGroupError) {
        for group in groups {
            if group.offset < 0 || group.count < 0 || group.offset + group.count > parameterCount {
                throw .outOfBounds(group: group.name, offset: group.offset, count: group.count,
                                   parameterCount: parameterCount)
            }
            if !group.learningRateMultiplier.isFinite || group.learningRateMultiplier < 0 {
                throw .invalidMultiplier(group: group.name, multiplier: group.learningRateMultiplier)
            }
        }
        var next = 0
        for group in groups.filter({ $0.count > 0 }).sorted(by: { $0.offset < $1.offset }) {
            if group.offset > next { throw .gap(start: next, end: group.offset) }
            if group.offset < next { throw .overlap(group: group.name, offset: group.offset) }
            next = group.offset + group.count
        }
        if next < parameterCount { throw .gap(start: next, end: parameterCount) }
    }
}

/// Why a list of parameter groups cannot be used with a buffer.
public enum ParameterGroupError: Error, Equatable, CustomStringConvertible {
    case outOfBounds(group: String, offset: Int, count: Int, parameterCount: Int)
    case invalidMultiplier(group: String, multiplier: Double)
    case gap(start: Int, end: Int)
    case overlap(group: String, offset: Int)

    public var description: String {
        switch self {
        case let .outOfBounds(group, offset, count, parameterCount):
            "parameter group '\(group)' (offset \(offset), count \(count)) lies outside the \(parameterCount) parameters"
        case let .invalidMultiplier(group, multiplier):
            "parameter group '\(group)' has learning-rate multiplier \(multiplier); it must be finite and >= 0"
        case let .gap(start, end):
            "parameters \(start)..<\(end) belong to no parameter group"
        case let .overlap(group, offset):
            "parameter group '\(group)' at offset \(offset) overlaps the group before it"
        }
    }
}
