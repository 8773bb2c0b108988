import LearnedOptimizer
import Network
import Seeding

/// One inner fine-tuning run that meta-training advances a truncation at a time: its parameters and L3RS
/// state, which run it is (`index`) and how often it has restarted. Its head seed, training-data order and
/// meta-validation order are all derived from (seed, index, restarts), so a checkpoint needs nothing else to
/// reproduce the run's batches.
public struct InnerRun: Sendable, Equatable {
    public let index: Int
    /// Restarts at the horizon (or after non-finite parameters) so far.
    public var restarts: Int
    public var parameters: [Float]
    public var state: L3RSState

    public init(index: Int, restarts: Int, parameters: [Float], state: L3RSState) {
        self.index = index
        self.restarts = restarts
        self.parameters = parameters
        self.state = state
    }

    /// Inner steps taken since the last (re)start.
    public var step: Int { state.step }

    /// The seed of one of this incarnation's random streams.
    func seed(base: UInt64, stream: Stream) -> UInt64 {
        SplitMix64.derivedSeed(base &+ (UInt64(index) << 40) &+ UInt64(restarts), stream: stream.rawValue)
    }

    enum Stream: UInt64 {
        case head = 1
        case trainingOrder = 2
        case validationOrder = 3
        case horizon = 4
    }
}
