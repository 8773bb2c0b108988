/// Antithetic persistent evolution strategies (PES; Vicol, Metz & Sohl-Dickstein, "Unbiased Gradient
/// Estimation in Unrolled Computation Graphs with Persistent Evolution Strategies", ICML 2021) over φ.
///
/// Truncated ES perturbs φ only for the current truncation, from the unperturbed run's state: it misses how
/// φ shaped that state, so it is biased towards short horizons. PES keeps, for every antithetic pair i, two
/// particles (inner states) unrolled since the run's start with φ + σε and φ − σε respectively, where a fresh ε
/// is drawn every truncation, and the accumulated perturbation ξ_i = Σ_τ ε_i,τ; then per truncation
///
///     ĝ = (1/N) Σ_i (L(particle⁺_i; φ + σε_i) − L(particle⁻_i; φ − σε_i)) / (2σ) · ξ_i,
///
/// an unbiased estimate of the gradient of the Gaussian-smoothed truncation loss with respect to a φ shared by
/// every truncation since the (re)start. On a run's first truncation ξ = ε and PES is antithetic ES.
///
/// Generic over the particle (an inner state the caller's `unroll` advances), so the estimator's bookkeeping
/// is one piece of code for meta-training's inner runs and for tests' closure problems. The caller deals
/// pairs to ranks, draws ε (identically on every rank), reduces the sums, and restarts the pairs with the run.
public struct PersistentEvolutionStrategies<Particle: Sendable>: Sendable {
    /// One antithetic pair: both particles and their shared accumulated perturbation.
    public struct Pair: Sendable {
        public var positive: Particle
        public var negative: Particle
        /// ξ = Σ ε over the truncations since the pair (re)started (unit scale: the perturbation is σξ).
        public var accumulatedPerturbation: [Float]
        /// An unroll of either particle was non-finite: the pair adds nothing until `restartDivergedPairs`.
        public var diverged = false

        public init(positive: Particle, negative: Particle, accumulatedPerturbation: [Float]) {
            self.positive = positive
            self.negative = negative
            self.accumulatedPerturbation = accumulatedPerturbation
        }
    }

    /// σ, the perturbation scale.
    public let sigma: Float
    public var pairs: [Pair]

    /// `pairCount` pairs whose particles both start at `start`, with ξ = 0.
    public init(sigma: Float, pairCount: Int, start: Particle, metaParameterCount: Int) {
        self.sigma = sigma
        let fresh = Pair(positive: start, negative: start,
                         accumulatedPerturbation: [Float](repeating: 0, count: metaParameterCount))
        pairs = [Pair](repeating: fresh, count: pairCount)
    }

    /// One truncation for the pairs `indices` (this rank's): ξ_i += ε_i (`perturbation(i)`), both particles
    /// unrolled (`unroll` advances a particle with the φ it is given and returns its loss L), and the sums over
    /// these pairs of (L⁺ − L⁻)/(2σ)·ξ_i and of (L⁺ + L⁻)/2. A pair whose loss difference is not finite adds
    /// no gradient and is marked diverged.
    public mutating func truncation(
        metaParameters φ: MetaParameters, pairs indices: some Sequence<Int>,
        perturbation: (Int) -> [Float],
        unroll: (inout Particle, MetaParameters) throws -> Double
    ) rethrows -> (gradientSum: [Float], lossSum: Double) {
        var gradient = [Float](repeating: 0, count: φ.values.count)
        var lossSum = 0.0
        for i in indices {
            let ε = perturbation(i)
            for index in ε.indices { pairs[i].accumulatedPerturbation[index] += ε[index] }
            var losses: [Double] = []
            for sign: Float in [1, -1] {
                var perturbed = φ
                for index in perturbed.values.indices { perturbed.values[index] += sign * sigma * ε[index] }
                if sign > 0 {
                    losses.append(try unroll(&pairs[i].positive, perturbed))
                } else {
                    losses.append(try unroll(&pairs[i].negative, perturbed))
                }
            }
            lossSum += (losses[0] + losses[1]) / 2
            let difference = losses[0] - losses[1]
            guard difference.isFinite else {
                pairs[i].diverged = true
                continue
            }
            let coefficient = Float(difference / (2 * Double(sigma)))
            let ξ = pairs[i].accumulatedPerturbation
            for index in gradient.indices { gradient[index] += coefficient * ξ[index] }
        }
        return (gradient, lossSum)
    }

    /// Restarts every diverged pair at `start` (the run's state after this truncation) with ξ = 0.
    public mutating func restartDivergedPairs(from start: Particle) {
        for i in pairs.indices where pairs[i].diverged {
            pairs[i] = Pair(positive: start, negative: start,
                            accumulatedPerturbation: [Float](repeating: 0, count: pairs[i].accumulatedPerturbation.count))
        }
    }
}
