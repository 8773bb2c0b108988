import Distributed
import Network
import Seeding
import Training

/// The update of one training step with replicated and with sharded optimizer state, alternated step by step
/// on every rank: replicated is the mean allreduce of the whole gradient and the rule's step over all
/// parameters; sharded is `ShardedUpdateStep.step` (reduce-scatter, the rule over this rank's shard, with an
/// L3RS layer cut between ranks handing on its sums, then all-gather of the parameters). The forward and
/// backward passes, the same in both modes, are left out. A fixed synthetic gradient; the parameters move.
struct ShardedUpdateBench {
    let replicated: any UpdateRule
    let sharded: ShardedUpdateStep
    let communicator: any Communicator
    private(set) var replicatedParameters: [Float]
    private(set) var shardedParameters: [Float]
    private let localGradient: [Float]
    private var meanGradient: [Float]

    init(model: Model, configuration: TrainingConfiguration, communicator: any Communicator) throws {
        replicated = try UpdateRules.make(configuration: configuration, model: model)
        sharded = try ShardedUpdateStep(configuration: configuration, model: model, communicator: communicator)
        self.communicator = communicator
        replicatedParameters = Array(model.parameters.values)
        shardedParameters = replicatedParameters
        var generator = SplitMix64(seed: 3 &+ UInt64(communicator.rank))
        localGradient = replicatedParameters.map { 1e-3 * $0 + generator.uniform(halfWidth: 1e-3) }
        meanGradient = localGradient
    }

    /// Median seconds of a replicated and of a sharded update (each after a barrier), alternated.
    mutating func medians(warmup: Int, repeats: Int) throws -> (replicated: Double, sharded: Double) {
        var replicatedSeconds: [Double] = [], shardedSeconds: [Double] = []
        for round in 0..<(warmup + max(1, repeats)) {
            try communicator.barrier()
            var start = Stopwatch.now()
            try replicatedUpdate()
            let replicatedTime = Stopwatch.now() - start
            try communicator.barrier()
            start = Stopwatch.now()
            try shardedUpdate()
            let shardedTime = Stopwatch.now() - start
            guard round >= warmup else { continue }
            replicatedSeconds.append(replicatedTime)
            shardedSeconds.append(shardedTime)
        }
        return (Stopwatch.median(of: replicatedSeconds), Stopwatch.median(of: shardedSeconds))
    }

    private mutating func replicatedUpdate() throws {
        _ = meanGradient.withUnsafeMutableBufferPointer { $0.update(fromContentsOf: localGradient) }
        try communicator.allreduce(&meanGradient, op: .mean)
        let rule = replicated
        meanGradient.withUnsafeBufferPointer { gradient in
            replicatedParameters.withUnsafeMutableBufferPointer { _ = rule.step(parameters: $0, gradient: gradient, loss: 1) }
        }
    }

    private mutating func shardedUpdate() throws {
        let step = sharded
        try localGradient.withUnsafeBufferPointer { gradient in
            try shardedParameters.withUnsafeMutableBufferPointer { _ = try step.step(parameters: $0, localGradient: gradient, loss: 1) }
        }
    }
}
