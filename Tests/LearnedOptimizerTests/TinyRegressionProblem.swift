import LearnedOptimizer
import Seeding

/// A tiny non-quadratic regression, y = s ⊙ (W x) + b with squared error, whose gradient and
/// Hessian-vector product are written out exactly (in Double), for checking meta-gradients.
///
/// Parameters: W [3, 4] (linear weight), s [3] (norm scale), b [3] (bias): n = 18. The training batch of
/// step k is 6 samples chosen by k (so batches differ between steps); the validation batch is fixed.
struct TinyRegressionProblem: InnerProblem {
    static let inputs = 4
    static let outputs = 3
    static let parameterCount = outputs * inputs + 2 * outputs

    let trainingInputs: [[Double]]
    let trainingTargets: [[Double]]
    let validationInputs: [[Double]]
    let validationTargets: [[Double]]
    let batchSize = 6

    init(seed: UInt64 = 7) {
        var generator = TestGenerator(seed: seed)
        let truthW = (0..<(Self.outputs * Self.inputs)).map { _ in generator.uniform(1) }
        let truthB = (0..<Self.outputs).map { _ in generator.uniform(0.5) }
        func sample(_ count: Int) -> ([[Double]], [[Double]]) {
            var xs: [[Double]] = []
            var ys: [[Double]] = []
            for _ in 0..<count {
                let x = (0..<Self.inputs).map { _ in generator.uniform(1) }
                let y = (0..<Self.outputs).map { o in
                    (0..<Self.inputs).reduce(truthB[o]) { $0 + truthW[o * Self.inputs + $1] * x[$1] }
                        + 0.05 * generator.uniform(1)
                }
                xs.append(x)
                ys.append(y)
            }
            return (xs, ys)
        }
        (trainingInputs, trainingTargets) = sample(40)
        (validationInputs, validationTargets) = sample(16)
    }

    static var layers: [LayerSlice] {
        [
            LayerSlice(name: "fc.weight", offset: 0, count: outputs * inputs, kind: .linearWeight, relativeDepth: 0),
            LayerSlice(name: "norm.weight", offset: outputs * inputs, count: outputs, kind: .normScale,
                       relativeDepth: 0.5),
            LayerSlice(name: "fc.bias", offset: outputs * inputs + outputs, count: outputs, kind: .bias,
                       relativeDepth: 1),
        ]
    }

    /// Small random W, s near 1, small non-zero b.
    static func initialParameters(seed: UInt64 = 3) -> [Float] {
        var generator = TestGenerator(seed: seed)
        var θ = (0..<(outputs * inputs)).map { _ in Float(generator.uniform(0.3)) }
        θ += (0..<outputs).map { _ in Float(1 + generator.uniform(0.1)) }
        θ += (0..<outputs).map { _ in Float(generator.uniform(0.1)) }
        return θ
    }

    func trainingBatch(step: Int) -> [Int] {
        (0..<batchSize).map { (step * 7 + $0 * 5) % trainingInputs.count }
    }

    func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        let batch = trainingBatch(step: step)
        return lossAndGradient(parameters, batch.map { trainingInputs[$0] }, batch.map { trainingTargets[$0] }, gradient)
    }

    func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        lossAndGradient(parameters, validationInputs, validationTargets, gradient)
    }

    /// Exact H v: differentiate the gradient along v (ṙ = σ⊙u + s⊙(V x) + β, u̇ = V x).
    func trainingHessianVectorProduct(
        parameters: UnsafeBufferPointer<Float>, vector: UnsafeBufferPointer<Float>, step: Int,
        into product: UnsafeMutableBufferPointer<Float>
    ) {
        let (I, O) = (Self.inputs, Self.outputs)
        let batch = trainingBatch(step: step)
        var result = [Double](repeating: 0, count: Self.parameterCount)
        for index in batch {
            let x = trainingInputs[index]
            let t = trainingTargets[index]
            for o in 0..<O {
                var u = 0.0, uDot = 0.0
                for i in 0..<I {
                    u += Double(parameters[o * I + i]) * x[i]
                    uDot += Double(vector[o * I + i]) * x[i]
                }
                let s = Double(parameters[O * I + o]), b = Double(parameters[O * I + O + o])
                let σ = Double(vector[O * I + o]), β = Double(vector[O * I + O + o])
                let r = s * u + b - t[o]
                let rDot = σ * u + s * uDot + β
                for i in 0..<I {
                    result[o * I + i] += (rDot * s + r * σ) * x[i]
                }
                result[O * I + o] += rDot * u + r * uDot
                result[O * I + O + o] += rDot
            }
        }
        for i in 0..<Self.parameterCount {
            product[i] = Float(result[i] / Double(batch.count))
        }
    }

    /// L = 1/(2N) Σ ‖s⊙(Wx) + b − t‖².
    private func lossAndGradient(
        _ θ: UnsafeBufferPointer<Float>, _ xs: [[Double]], _ ts: [[Double]], _ gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        let (I, O) = (Self.inputs, Self.outputs)
        var g = [Double](repeating: 0, count: Self.parameterCount)
        var loss = 0.0
        for (x, t) in zip(xs, ts) {
            for o in 0..<O {
                var u = 0.0
                for i in 0..<I { u += Double(θ[o * I + i]) * x[i] }
                let s = Double(θ[O * I + o]), b = Double(θ[O * I + O + o])
                let r = s * u + b - t[o]
                loss += 0.5 * r * r
                for i in 0..<I { g[o * I + i] += r * s * x[i] }
                g[O * I + o] += r * u
                g[O * I + O + o] += r
            }
        }
        let count = Double(xs.count)
        for i in 0..<Self.parameterCount { gradient[i] = Float(g[i] / count) }
        return Float(loss / count)
    }
}

/// Plays back recorded training losses and gradients by step (the first-order meta-gradient treats them as
/// constants), with the real validation loss.
struct ReplayedProblem: InnerProblem {
    let base: TinyRegressionProblem
    let losses: [Int: Float]
    let gradients: [Int: [Float]]

    /// Records what `base` returns along the unroll of `optimizer` from (θ, state) for `steps` steps.
    init(base: TinyRegressionProblem, optimizer: L3RSOptimizer, parameters: [Float], state: L3RSState, steps: Int) {
        var optimizer = optimizer
        var θ = parameters
        var state = state
        var losses: [Int: Float] = [:]
        var gradients: [Int: [Float]] = [:]
        var g = [Float](repeating: 0, count: θ.count)
        for _ in 0..<steps {
            let k = state.step
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { base.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            losses[k] = loss
            gradients[k] = g
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
        }
        self.base = base
        self.losses = losses
        self.gradients = gradients
    }

    func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        let recorded = gradients[step]!
        for i in 0..<gradient.count { gradient[i] = recorded[i] }
        return losses[step]!
    }

    func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        base.validationLossAndGradient(parameters: parameters, step: step, gradient: gradient)
    }
}

/// Deterministic Double test data from the project's generator (53 random bits per value).
struct TestGenerator {
    var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// Uniform in [−halfWidth, halfWidth].
    mutating func uniform(_ halfWidth: Double) -> Double {
        (Double(generator.next() >> 11) / Double(1 << 53) * 2 - 1) * halfWidth
    }
}
