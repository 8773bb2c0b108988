import Distributed
import Foundation
import LearnedOptimizer
import Seeding
import Runs
import Training

extension MetaTrainer {
    /// Antithetic evolution strategies over φ for one task's truncation (the paper's estimator; Salimans et
    /// al. 2017): for pairs i = 1…N, ε_i ~ N(0, I) and
    ///
    ///     ĝ = (1/N) Σ_i (L(φ + σε_i) − L(φ − σε_i)) / (2σ) · ε_i,
    ///
    /// the gradient of the Gaussian-smoothed meta-loss L_σ(φ) = E[L(φ + σε)]. L is the mean of the held-out loss
    /// (evaluation mode) after each of the truncation's steps, from the run's current state, weighted by
    /// `metaLossWeighting` (uniform by default).
    /// Pairs are dealt round-robin to the ranks; each rank unrolls its pairs whole on the global batches
    /// (no collective inside an unroll), and one allreduce sums the estimates. The run itself then advances
    /// the truncation with φ, data-parallel, so every rank keeps the same inner runs.
    func antitheticESMetaGradient(run: inout InnerRun, truncation: Int) throws -> (TaskEstimate, stop: Bool) {
        let σ = Float(configuration.esSigma)
        let local = try problem(for: run, reduction: .globalMean, communicator: SingleProcessCommunicator())
        let φ = optimizer.metaParameters
        var gradient = [Float](repeating: 0, count: φ.values.count)
        var lossSum = 0.0
        for pair in ownedPairs {
            let ε = perturbation(pair: pair, count: φ.values.count)
            var losses: [Double] = []
            for sign: Float in [1, -1] {
                var perturbed = φ
                for index in perturbed.values.indices { perturbed.values[index] += sign * σ * ε[index] }
                losses.append(try heldOutScore(of: perturbed, from: run, steps: truncation, problem: local,
                                               weighting: configuration.metaLossWeighting).meanLoss)
            }
            lossSum += (losses[0] + losses[1]) / 2
            // A pair with a diverged unroll gives no usable difference: it adds no gradient (it still counts in
            // the 1/N average) instead of an infinite step.
            let difference = losses[0] - losses[1]
            guard difference.isFinite else { continue }
            let coefficient = Float(difference / (2 * Double(σ)))
            for index in gradient.indices { gradient[index] += coefficient * ε[index] }
        }
        return try combinePairEstimates(gradient: gradient, lossSum: lossSum, run: &run, truncation: truncation)
    }

    /// The pairs this rank unrolls: dealt round-robin to the ranks (antithetic ES and PES alike).
    var ownedPairs: StrideTo<Int> {
        stride(from: communicator.rank, to: configuration.esPairs, by: communicator.size)
    }

    /// The common end of antithetic ES and PES: one allreduce sums the ranks' pair estimates (the gradient sum,
    /// the loss sum and the stop signal), both are averaged over all N pairs, and the run itself then advances
    /// the truncation with φ, data-parallel.
    func combinePairEstimates(gradient: [Float], lossSum: Double, run: inout InnerRun,
                              truncation: Int) throws -> (TaskEstimate, stop: Bool) {
        let pairs = configuration.esPairs
        var gradient = gradient
        try communicator.allreduce(&gradient, op: .sum)
        var totals = [lossSum, StopSignal.pending != 0 ? 1 : 0]
        try communicator.allreduce(&totals, op: .sum)
        let scale = 1 / Float(pairs)
        for index in gradient.indices { gradient[index] *= scale }

        let (stepSizes, mixing) = try advanceRecordingOutputs(&run, steps: truncation)
        let estimate = TaskEstimate(gradient: gradient, metaLoss: totals[0] / Double(pairs), stepSizePenalty: 0,
                                    meanStepSizes: stepSizes, meanMixingWeights: mixing)
        return (estimate, totals[1] > 0)
    }

    /// ε of pair `pair` at the current meta-step: standard normal entries (Box–Muller) from a stream derived
    /// from (seed, meta-step, pair), so every rank and a resumed run draw the same perturbations.
    func perturbation(pair: Int, count: Int) -> [Float] {
        let stream = (UInt64(metaStep) << 20) | UInt64(pair)
        var generator = SplitMix64(seed: SplitMix64.derivedSeed(configuration.seed ^ 0x4553_5045_5254_5552, stream: stream))
        return generator.standardNormals(count: count)
    }

    /// Advances `run` with the current φ, data-parallel, and returns λ and μ averaged over the steps.
    func advanceRecordingOutputs(_ run: inout InnerRun, steps: Int) throws -> (stepSizes: [Float], mixing: [Float]) {
        let problem = try problem(for: run, reduction: .globalMean)
        var stepper = optimizer
        var gradient = [Float](repeating: 0, count: run.parameters.count)
        var stepSizes: [Float] = [], mixing: [Float] = []
        for _ in 0..<steps {
            try Self.innerStep(&run.parameters, state: &run.state, gradient: &gradient, problem: problem, optimizer: &stepper)
            stepSizes = stepSizes.isEmpty ? stepper.lastStepSizes : zip(stepSizes, stepper.lastStepSizes).map(+)
            mixing = mixing.isEmpty ? stepper.lastMixingWeights : zip(mixing, stepper.lastMixingWeights).map(+)
        }
        let scale = 1 / Float(max(steps, 1))
        return (stepSizes.map { $0 * scale }, mixing.map { $0 * scale })
    }
}
