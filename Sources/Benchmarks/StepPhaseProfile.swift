import Datasets
import Distributed
import Kernels
import Network
import Training

/// Where a training step's time goes, phase by phase, at 1 and at 2 threads: batch assembly, zeroing the
/// gradients, every top-level layer's forward and backward, softmax cross-entropy, the bucketed gradient mean,
/// and the trainer's Adam and L3RS updates. It makes the calls `ShardedObjective.lossAndGradient` and the
/// trainer make, one at a time with a clock around each (backward without overlap, as in the step table), so a
/// phase that gains nothing from the second thread shows up as a row whose speed-up stays near 1.
/// The thread counts alternate step by step, so load that comes and goes lands on both columns.
public struct StepPhaseProfile {
    /// One row: the phase's name, its median seconds per thread count (index 0: 1 thread), and the median share of
    /// its time at the first thread count spent in work the pool splits (`WorkerPool.secondsInSplitWork`).
    public struct Phase {
        public var name: String
        public var seconds: [Double]
        public var splitShare: Double
    }

    public let model: Model
    public let batch: Int
    private let input: Tensor
    private var labels: [Int]
    private let dataset: Dataset
    private let indices: [Int]
    private let lossFunction = SoftmaxCrossEntropy()
    private let reducer: BucketedAllreduce
    private let adam: any UpdateRule
    private let l3rs: any UpdateRule
    private var scratchParameters: [Float]

    public init(model: Model, batch: Int) throws {
        self.model = model
        self.batch = batch
        let synthetic = SyntheticBatch(model: model, batch: batch, seed: 7)
        input = synthetic.input
        labels = synthetic.labels
        dataset = try SyntheticDataset.make(for: model, count: 2 * batch, seed: 11)
        indices = (0..<batch).map { ($0 * 7) % (2 * batch) }
        reducer = BucketedAllreduce(layers: model.parameters.entries.map { (offset: $0.offset, count: $0.count) },
                                    bucketElements: ShardedObjective.defaultBucketElements, communicator: SingleProcessCommunicator())
        var configuration = TrainingConfiguration()
        configuration.optimizer = .adam
        adam = try UpdateRules.make(configuration: configuration, model: model)
        configuration.optimizer = .l3rs
        l3rs = try UpdateRules.make(configuration: configuration, model: model)
        scratchParameters = Array(model.parameters.values)
    }

    /// Median seconds of every phase at each of `threadCounts` (alternated step by step), then the whole step
    /// (the phases' sum per step) as the last row.
    public mutating func measure(threadCounts: [Int], warmup: Int, repeats: Int) throws -> [Phase] {
        var order: [String] = []
        var perThread: [[[String: Double]]] = Array(repeating: [], count: threadCounts.count)
        var splitSamples: [[String: Double]] = []
        for round in 0..<(warmup + max(1, repeats)) {
            for (slot, threads) in threadCounts.enumerated() {
                ComputeThreads.set(threads)
                var timings: [(String, Double)] = [], split: [(String, Double)] = []
                try step { name, seconds, splitSeconds in
                    timings.append((name, seconds))
                    split.append((name, splitSeconds))
                }
                if order.isEmpty { order = timings.map(\.0) }
                if round >= warmup {
                    perThread[slot].append(Dictionary(timings, uniquingKeysWith: +))
                    if slot == 0 { splitSamples.append(Dictionary(split, uniquingKeysWith: +)) }
                }
            }
        }
        ComputeThreads.set(1)
        func share(_ names: [String]) -> Double {
            Stopwatch.median(of: zip(perThread[0], splitSamples).map { step, split in
                let total = names.reduce(0) { $0 + (step[$1] ?? 0) }
                return total > 0 ? names.reduce(0) { $0 + (split[$1] ?? 0) } / total : 0
            })
        }
        var phases = order.map { name in
            Phase(name: name, seconds: perThread.map { steps in Stopwatch.median(of: steps.map { $0[name] ?? 0 }) },
                  splitShare: share([name]))
        }
        let stepPhases = order.filter { $0 != Self.l3rsPhase }
        phases.append(Phase(name: "whole step (sum of phases; L3RS not included)", seconds: perThread.map { steps in
            Stopwatch.median(of: steps.map { step in stepPhases.reduce(0) { $0 + (step[$1] ?? 0) } })
        }, splitShare: share(stepPhases)))
        return phases
    }

    static let l3rsPhase = "L3RS update (instead of Adam)"

    /// One step, reporting each phase's seconds and its seconds of split work to `record` in step order.
    private mutating func step(_ record: (String, Double, Double) -> Void) throws {
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let splitBefore = WorkerPool.shared.secondsInSplitWork
            let start = Stopwatch.now()
            let result = try body()
            record(name, Stopwatch.now() - start, WorkerPool.shared.secondsInSplitWork - splitBefore)
            return result
        }
        timed("batch assembly (gather \(batch) images)") {
            dataset.gather(indices, into: input.storage, labels: &labels)
        }
        timed("zero gradients") { model.parameters.zeroGradients() }
        var activation = input
        for (index, layer) in model.layers.enumerated() {
            activation = timed("fwd \(index) \(Self.describe(layer))") { layer.forward(activation, training: true) }
        }
        let logits = activation
        let lossValue = timed("softmax cross-entropy + dlogits") { () -> Float in
            let value = lossFunction.loss(logits: logits, labels: labels)
            _ = lossFunction.gradient()
            return value
        }
        var gradient = lossFunction.gradient()
        let firstOwner = model.layers.firstIndex { !$0.parameterEntries.isEmpty } ?? model.layers.count
        for index in model.layers.indices.reversed() where index >= firstOwner {
            let layer = model.layers[index]
            let next = timed("bwd \(index) \(Self.describe(layer))") { layer.backward(gradient, inputGradient: index > firstOwner) }
            guard let next else { break }
            gradient = next
        }
        let gradients = model.parameters.gradients
        try timed("gradient mean (buckets, 1 rank)") { try reducer.reduce(gradients: gradients) }
        timed("Adam update") {
            _ = adam.step(parameters: model.parameters.values, gradient: UnsafeBufferPointer(gradients), loss: Double(lossValue))
        }
        scratchParameters.withUnsafeMutableBufferPointer { parameters in
            _ = parameters.initialize(from: model.parameters.values)
            timed(Self.l3rsPhase) {
                _ = l3rs.step(parameters: parameters, gradient: UnsafeBufferPointer(gradients), loss: Double(lossValue))
            }
        }
    }

    /// A layer's type name, e.g. "Conv2d" (the row's index tells equal types apart).
    static func describe(_ layer: any Layer) -> String {
        String(describing: type(of: layer))
    }
}
