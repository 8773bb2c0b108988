import Distributed
import Network
import Optimizers
import Training

/// The data-parallel training step as `DataParallelTrainer.trainStep` runs it (`ShardedObjective`'s forward,
/// loss, backward and bucketed gradient mean, then an Adam update) on a synthetic batch (or, for the comparison
/// with PyTorch, a cycle of real batches), timed as a whole and with the time spent waiting for the allreduce
/// measured separately.
public final class TrainingStepBench {
    public let model: Model
    public let communicator: any Communicator
    /// Start each bucket's allreduce from the backward hook as soon as its layers' gradients are final.
    public let overlap: Bool
    private let batches: [SyntheticBatch]
    private var nextBatch = 0
    private let objective: ShardedObjective
    private var optimizer: HandDesignedOptimizer
    /// Seconds spent in the allreduce of the last step that the computation did not hide (the whole
    /// reduction without overlap; the final wait with it).
    public var lastExposedReduceSeconds: Double { objective.lastExposedReductionSeconds }

    /// `batch` is this rank's share of the global batch; `batches`, when given, are stepped through in turn
    /// instead of one synthetic batch.
    public init(model: Model, batch: Int, communicator: any Communicator, overlap: Bool,
                bucketElements: Int = 1 << 18, batches: [SyntheticBatch] = []) throws {
        self.model = model
        self.communicator = communicator
        self.overlap = overlap
        self.batches = batches.isEmpty ? [SyntheticBatch(model: model, batch: batch, seed: 7 &+ UInt64(communicator.rank))] : batches
        objective = ShardedObjective(model: model, communicator: communicator, bucketElements: bucketElements)
        objective.overlapsReduction = overlap
        optimizer = try HandDesignedOptimizer(rule: Adam(), parameterCount: model.parameterCount, learningRate: 1e-4)
    }

    /// One step.
    public func step() throws {
        let batch = batches[nextBatch]
        nextBatch = (nextBatch + 1) % batches.count
        // Every rank holds a whole batch of its own: each is 1/R of the global batch.
        try objective.lossAndGradient(input: batch.input, labels: batch.labels, weight: 1 / Double(communicator.size),
                                      reduction: .globalMean)
        optimizer.step(parameters: model.parameters.values, gradient: UnsafeBufferPointer(model.parameters.gradients))
    }

    /// One rank alone against all ranks, alternated step by step (`alone` on rank 0 only, nil elsewhere):
    /// rank 0 times an `alone` step while the other ranks sleep in `QuietBarrier`, then every rank times one
    /// step of each `together` bench (without and with overlap). Alternating puts any drift in the machine's
    /// load on both sides of the ratios. `alone` needs its own model (layers keep batch-sized buffers; sharing
    /// one would reallocate them every step). Returns the step seconds of `alone`, and per `together` bench
    /// its step seconds and exposed allreduce seconds.
    public static func alternating(alone: TrainingStepBench?, together: [TrainingStepBench], warmup: Int, repeats: Int) throws
        -> (alone: [Double], together: [[Double]], exposedReduce: [[Double]]) {
        guard let communicator = together.first?.communicator else { preconditionFailure("nothing to run together") }
        var aloneSeconds: [Double] = []
        var togetherSeconds = [[Double]](repeating: [], count: together.count), exposed = togetherSeconds
        for round in 0..<(warmup + max(1, repeats)) {
            if let alone {
                let start = Stopwatch.now()
                try alone.step()
                if round >= warmup { aloneSeconds.append(Stopwatch.now() - start) }
            }
            try QuietBarrier.wait(communicator)
            for (index, bench) in together.enumerated() {
                try communicator.barrier()
                let start = Stopwatch.now()
                try bench.step()
                if round >= warmup {
                    togetherSeconds[index].append(Stopwatch.now() - start)
                    exposed[index].append(bench.lastExposedReduceSeconds)
                }
            }
        }
        return (aloneSeconds, togetherSeconds, exposed)
    }

    /// Median step seconds, the median exposed allreduce seconds and the fastest step over `repeats` steps
    /// after `warmup`. The fastest step is what the code achieves when no other process takes a core away
    /// (on a shared machine the median of a multi-rank step carries every rank's worst scheduling delay).
    public func measure(warmup: Int, repeats: Int) throws -> (step: Double, exposedReduce: Double, fastest: Double) {
        let (steps, reduces) = try samples(warmup: warmup, repeats: repeats)
        return (Stopwatch.median(of: steps), Stopwatch.median(of: reduces), steps.min() ?? .nan)
    }

    /// Every timed step's seconds and exposed allreduce seconds, `repeats` of them after `warmup`.
    public func samples(warmup: Int, repeats: Int) throws -> (steps: [Double], exposedReduce: [Double]) {
        for _ in 0..<warmup { try step() }
        var steps: [Double] = [], reduces: [Double] = []
        for _ in 0..<max(1, repeats) {
            try communicator.barrier()
            let start = Stopwatch.now()
            try step()
            steps.append(Stopwatch.now() - start)
            reduces.append(lastExposedReduceSeconds)
        }
        return (steps, reduces)
    }
}
