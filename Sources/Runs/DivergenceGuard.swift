/// Stops a run that has diverged instead of letting it end "successfully" at chance: counts consecutive bad
/// steps (a non-finite loss or gradient whose update was skipped; in meta-training also an exploded meta-loss)
/// and says when `limit` of them in a row were reached. A good step resets the count.
public struct DivergenceGuard: Sendable {
    /// Consecutive bad steps that stop the run; 0 never stops.
    public let limit: Int
    /// Bad steps in the current streak, and over the whole run.
    public private(set) var consecutive = 0
    public private(set) var total = 0

    public init(limit: Int) { self.limit = limit }

    /// Records one step; true when the run must stop.
    public mutating func record(bad: Bool) -> Bool {
        guard bad else {
            consecutive = 0
            return false
        }
        consecutive += 1
        total += 1
        return limit > 0 && consecutive >= limit
    }
}

/// A run stopped by its divergence policy. Every rank raises it at the same step (the quantities it judges
/// are reduced over ranks), so the job ends without an abort, with `exitStatus`.
public struct DivergenceError: Error, CustomStringConvertible, Equatable {
    /// The documented exit status of a diverged run (EX_DATAERR).
    public static let exitStatus: Int32 = 65

    public let step: Int
    /// What went wrong at each of the bad steps ("non-finite loss or gradient", ...), and how many in a row.
    public let reason: String
    public let consecutive: Int
    /// The newest checkpoint (kept untouched), or nil.
    public let lastCheckpoint: String?

    public init(step: Int, reason: String, consecutive: Int, lastCheckpoint: String?) {
        self.step = step
        self.reason = reason
        self.consecutive = consecutive
        self.lastCheckpoint = lastCheckpoint
    }

    public var description: String {
        "diverged: \(consecutive) consecutive steps up to step \(step) had \(reason); stopped (maxNonFiniteSteps); "
            + (lastCheckpoint.map { "the last good checkpoint is \($0)" } ?? "no checkpoint was written")
            + "; lower the learning rate or check the data"
    }
}
