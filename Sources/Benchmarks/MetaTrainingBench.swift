import Datasets
import Distributed
import LearnedOptimizer
import MetaTraining
import Network
import Optimizers
import Training

/// The cost of L3RS against its baselines on one backbone: its update against Adam's, T inner steps against
/// a first-order meta-training iteration over the same T steps (`L3RSOptimizer.metaGradient`).
public struct MetaTrainingBench {
    public let problem: ModelInnerProblem
    public let truncationLength: Int
    public var optimizer: L3RSOptimizer

    public init(model: Model, batch: Int, truncationLength: Int) throws {
        // The real inner problem of meta-training, on one rank, over two training batches and one validation
        // batch of synthetic images.
        let trainSet = try SyntheticDataset.make(for: model, count: 2 * batch, seed: 11)
        let validationSet = try SyntheticDataset.make(for: model, count: batch, seed: 1011)
        problem = try ModelInnerProblem(
            model: model, communicator: SingleProcessCommunicator(), trainSet: trainSet, validationSet: validationSet,
            trainSampler: try GlobalBatchSampler(sampleCount: trainSet.count, globalBatchSize: batch, seed: 11),
            validationSampler: try GlobalBatchSampler(sampleCount: validationSet.count, globalBatchSize: batch, seed: 12),
            validationReduction: .rankShare)
        self.truncationLength = truncationLength
        optimizer = try L3RSOptimizer(configuration: L3RSConfiguration(), layers: LayerSlices.make(for: model),
                                      parameterCount: model.parameterCount)
    }

    /// Median seconds of one L3RS update and one Adam update (`HandDesignedOptimizer`) on the same gradient.
    public mutating func updateCosts(repeats: Int) throws -> (l3rs: Double, adam: Double) {
        let n = optimizer.parameterCount
        var parameters = Array(problem.model.parameters.values)
        var gradient = [Float](repeating: 0, count: n)
        let loss = parameters.withUnsafeBufferPointer { θ in
            gradient.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: θ, step: 0, gradient: $0) }
        }
        var state = optimizer.makeState()
        var l3rs = optimizer
        let l3rsSeconds = Stopwatch.median(warmup: 2, repeats: repeats) {
            l3rs.step(parameters: &parameters, gradient: gradient, loss: loss, state: &state)
        }
        var adam = try HandDesignedOptimizer(rule: Adam(), parameterCount: n, learningRate: 1e-4)
        let adamSeconds = Stopwatch.median(warmup: 2, repeats: repeats) {
            adam.step(parameters: &parameters, gradient: gradient)
        }
        return (l3rsSeconds, adamSeconds)
    }

    /// Median seconds of T inner steps (training gradient + L3RS update each) from the model's parameters.
    public mutating func innerSteps(repeats: Int) -> Double {
        let start = Array(problem.model.parameters.values)
        var gradient = [Float](repeating: 0, count: optimizer.parameterCount)
        return Stopwatch.median(warmup: 1, repeats: repeats) {
            var parameters = start
            var state = optimizer.makeState()
            for _ in 0..<truncationLength {
                let loss = parameters.withUnsafeBufferPointer { θ in
                    gradient.withUnsafeMutableBufferPointer {
                        problem.trainingLossAndGradient(parameters: θ, step: state.step, gradient: $0)
                    }
                }
                optimizer.step(parameters: &parameters, gradient: gradient, loss: loss, state: &state)
            }
        }
    }

    /// Median seconds of one meta-training iteration: the meta-gradient over T steps.
    public mutating func metaIteration(order: MetaGradientOrder = .firstOrder, memory: UnrollMemory = .storeAll,
                                       warmup: Int = 1, repeats: Int) -> Double {
        let start = Array(problem.model.parameters.values)
        return Stopwatch.median(warmup: warmup, repeats: repeats) {
            var parameters = start
            var state = optimizer.makeState()
            _ = optimizer.metaGradient(problem: problem, parameters: &parameters, state: &state,
                                       truncationLength: truncationLength, order: order, memory: memory)
        }
    }
}
