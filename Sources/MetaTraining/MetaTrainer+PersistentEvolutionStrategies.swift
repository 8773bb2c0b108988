import Checkpoints
import Distributed
import LearnedOptimizer
import Runs

/// PES's state for one inner run: the incarnation and inner step it belongs to (its particles move in lockstep
/// with the run; a restarted run, or one PES did not advance, starts its pairs afresh) and its pairs' particles
/// (perturbed copies of the run) with their accumulated perturbations.
public struct PersistentRunEstimator: Sendable {
    public var restarts: Int
    public var step: Int
    public var estimator: PersistentEvolutionStrategies<InnerRun>
}

extension MetaTrainer {
    /// Persistent evolution strategies for one task's truncation (docs/method.md §5; `PersistentEvolutionStrategies`
    /// has the estimator): on a run's first truncation of an incarnation every pair's two particles start at
    /// the run's state with ξ = 0; each truncation draws ε (`perturbation(pair:count:)`, as antitheticES), adds
    /// it to ξ, unrolls the particles with φ ± σε from where they stopped, and estimates
    /// (1/N) Σ_i (L⁺ − L⁻)/(2σ)·ξ_i. Pairs are dealt round-robin to the ranks; each rank unrolls its pairs whole
    /// on the global batches, one allreduce sums the estimates, and each pair's new particles and ξ are then
    /// broadcast from the rank that owns it, so every rank holds (and rank 0 checkpoints) all of them. The run
    /// itself then advances with φ, data-parallel. A pair whose unroll diverged adds nothing and restarts at
    /// the run's new state.
    func persistentESMetaGradient(run: inout InnerRun, truncation: Int) throws -> (TaskEstimate, stop: Bool) {
        let pairs = configuration.esPairs
        let φ = optimizer.metaParameters
        let local = try problem(for: run, reduction: .globalMean, communicator: SingleProcessCommunicator())
        var estimator: PersistentEvolutionStrategies<InnerRun>
        if let kept = persistentES[run.index], kept.restarts == run.restarts, kept.step == run.step,
           kept.estimator.pairs.count == pairs {
            estimator = kept.estimator
        } else {
            estimator = PersistentEvolutionStrategies(sigma: Float(configuration.esSigma), pairCount: pairs, start: run,
                                                      metaParameterCount: φ.values.count)
        }
        let (gradient, lossSum) = try estimator.truncation(
            metaParameters: φ, pairs: ownedPairs, perturbation: { perturbation(pair: $0, count: φ.values.count) },
            unroll: { particle, perturbed in
                try heldOutScore(of: perturbed, advancing: &particle.parameters, state: &particle.state,
                                 steps: truncation, problem: local, weighting: configuration.metaLossWeighting).meanLoss
            })
        let result = try combinePairEstimates(gradient: gradient, lossSum: lossSum, run: &run, truncation: truncation)
        estimator.restartDivergedPairs(from: run)
        try shareParticles(&estimator, template: run)
        persistentES[run.index] = PersistentRunEstimator(restarts: run.restarts, step: run.step, estimator: estimator)
        return result
    }

    /// Broadcasts every pair (both particles and ξ, as `pairValues`) from the rank that unrolled it.
    private func shareParticles(_ estimator: inout PersistentEvolutionStrategies<InnerRun>, template: InnerRun) throws {
        guard communicator.size > 1 else { return }
        for i in estimator.pairs.indices {
            var values = Self.pairValues(estimator.pairs[i])
            try communicator.broadcast(&values, root: i % communicator.size)
            estimator.pairs[i] = try pair(from: values, template: template)
        }
    }

    /// One pair as floats: the positive particle, the negative one (`particleValues`), then ξ.
    static func pairValues(_ pair: PersistentEvolutionStrategies<InnerRun>.Pair) -> [Float] {
        particleValues(pair.positive) + particleValues(pair.negative) + pair.accumulatedPerturbation
    }

    /// A particle's parameters, its L3RS state's tensors in checkpoint order, and its non-finite feature count.
    /// Its counters (steps, horizon, ξ_0 of the loss) are those of the run it shadows, which it moves in lockstep
    /// with, so they are not repeated.
    static func particleValues(_ particle: InnerRun) -> [Float] {
        particle.parameters + particle.state.checkpointTensors.flatMap { $0.floats() }
            + [Float(particle.state.nonFiniteFeatureCount)]
    }

    /// The inverse of `pairValues`, with the counters of `template` (the run the pair shadows, at the same step).
    func pair(from values: [Float], template: InnerRun) throws -> PersistentEvolutionStrategies<InnerRun>.Pair {
        let width = Self.particleValues(template).count
        let metaCount = optimizer.metaParameters.values.count
        guard values.count == 2 * width + metaCount else {
            throw MetaTrainingError.checkpoint("a PES pair has \(values.count) values, expected \(2 * width + metaCount)")
        }
        return .init(positive: try particle(from: values[0..<width], template: template),
                     negative: try particle(from: values[width..<(2 * width)], template: template),
                     accumulatedPerturbation: Array(values[(2 * width)...]))
    }

    private func particle(from values: ArraySlice<Float>, template: InnerRun) throws -> InnerRun {
        var offset = values.startIndex
        func take(_ count: Int) -> [Float] {
            defer { offset += count }
            return Array(values[offset..<(offset + count)])
        }
        let parameters = take(template.parameters.count)
        let tensors = template.state.checkpointTensors.map {
            NamedTensor(name: $0.name, shape: $0.shape, floats: take($0.elementCount))
        }
        var state = try L3RSState(checkpointTensors: tensors, metadata: template.state.checkpointMetadata,
                                  template: optimizer.makeState())
        state.nonFiniteFeatureCount = Int(values[offset])
        return InnerRun(index: template.index, restarts: template.restarts, parameters: parameters, state: state)
    }
}
