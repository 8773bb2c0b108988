/// The intermediate values of one L3RS step: the optimizer's reusable workspace on the hot path, and, when
/// copied into a `StepRecord`, what the reverse pass needs of that step.
///
/// Layouts: per-element buffers are [P, n] (base-major, so each direction is one contiguous vector); every
/// per-layer-per-base value (rms, s, w, μ) is [L, P]; features [L, F]; hidden activations [L, H]; MLP outputs
/// [L, 1 + P].
struct StepActivations: Sendable {
    var step = 0
    var loss: Float = 0
    /// The base directions d before normalisation, [P, n]: filled by `prepareStep` (the reverse pass needs
    /// them); empty in a fused `step`, which never holds them all.
    var directions: [Float] = []
    /// rms(d_p,l) before normalisation, [L, P].
    var directionRMS: [Float] = []
    /// s_l,p = 1 / (rms(d_p,l) + ε), [L, P]: d̂ = s·d.
    var directionScales: [Float] = []
    /// w_l,p = μ_l,p · s_l,p, [L, P]: the update is Δθ_l = λ_l Σ_p w_l,p d_p (= λ_l Σ_p μ_l,p d̂_p).
    var directionWeights: [Float] = []
    var parameterRMS: [Float] = []
    var gradientRMS: [Float] = []
    /// cos(g_l, d_l,p), [L, P] (feature set v2 only; else 0).
    var gradientDirectionCosines: [Float] = []
    /// Features before clipping and non-finite replacement (the reverse pass needs them to know which
    /// features were clipped).
    var rawFeatures: [Float] = []
    /// The MLP's inputs.
    var features: [Float] = []
    var hidden1: [Float] = []
    var hidden2: [Float] = []
    var outputs: [Float] = []
    /// λ_l.
    var stepSizes: [Float] = []
    /// μ_l,p.
    var mixingWeights: [Float] = []
    var nonFiniteFeatures = 0

    init() {}

    init(layerCount: Int, baseCount: Int, featureCount: Int, hiddenWidth: Int) {
        directionRMS = [Float](repeating: 0, count: baseCount * layerCount)
        directionScales = directionRMS
        directionWeights = directionRMS
        parameterRMS = [Float](repeating: 0, count: layerCount)
        gradientRMS = [Float](repeating: 0, count: layerCount)
        gradientDirectionCosines = directionRMS
        rawFeatures = [Float](repeating: 0, count: layerCount * featureCount)
        features = rawFeatures
        hidden1 = [Float](repeating: 0, count: layerCount * hiddenWidth)
        hidden2 = hidden1
        outputs = [Float](repeating: 0, count: layerCount * (1 + baseCount))
        stepSizes = [Float](repeating: 0, count: layerCount)
        mixingWeights = [Float](repeating: 0, count: layerCount * baseCount)
    }

    /// hidden1, hidden2 and the outputs of MLP_φ on `features` (`MetaNetwork.forward`).
    mutating func runNetwork(_ φ: MetaParameters) {
        let features = self.features
        φ.values.withUnsafeBufferPointer { parameters in
            features.withUnsafeBufferPointer { features in
                withNetworkOutputs { hidden1, hidden2, outputs in
                    MetaNetwork.forward(parameters: parameters, layout: φ.layout, features: features,
                                        hidden1: hidden1, hidden2: hidden2, outputs: outputs)
                }
            }
        }
    }

    /// Lends the buffers the MLP writes.
    private mutating func withNetworkOutputs(
        _ body: (_ hidden1: UnsafeMutableBufferPointer<Float>, _ hidden2: UnsafeMutableBufferPointer<Float>,
                 _ outputs: UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        hidden1.withUnsafeMutableBufferPointer { hidden1 in
            hidden2.withUnsafeMutableBufferPointer { hidden2 in
                outputs.withUnsafeMutableBufferPointer { outputs in body(hidden1, hidden2, outputs) }
            }
        }
    }

    /// Lends the MLP's recorded inputs and hidden activations (features, hidden1, hidden2), for its reverse pass.
    func withNetworkActivations(
        _ body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Void
    ) {
        features.withUnsafeBufferPointer { features in
            hidden1.withUnsafeBufferPointer { hidden1 in
                hidden2.withUnsafeBufferPointer { hidden2 in body(features, hidden1, hidden2) }
            }
        }
    }
}
