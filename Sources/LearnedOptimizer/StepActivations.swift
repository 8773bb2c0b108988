/// The intermediate values of one L3RS step: the optimizer's reusable workspace on the hot path, and, when
/// copied into a `StepRecord`, what the reverse pass needs of that step.
///
/// Layouts: per-element buffers are [P, n] (base-major); per-layer-per-base values [P, L]; features [L, F];
/// hidden activations [L, H]; MLP outputs [L, 1 + P]; mixing weights [L, P].
struct StepActivations: Sendable {
    var step = 0
    var loss: Float = 0
    var normalisedDirections: [Float] = []
    /// rms(d_p,l) before normalisation.
    var directionRMS: [Float] = []
    var parameterRMS: [Float] = []
    var gradientRMS: [Float] = []
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

    init(parameterCount n: Int, layerCount: Int, baseCount: Int, featureCount: Int, hiddenWidth: Int) {
        normalisedDirections = [Float](repeating: 0, count: baseCount * n)
        directionRMS = [Float](repeating: 0, count: baseCount * layerCount)
        parameterRMS = [Float](repeating: 0, count: layerCount)
        gradientRMS = [Float](repeating: 0, count: layerCount)
        rawFeatures = [Float](repeating: 0, count: layerCount * featureCount)
        features = rawFeatures
        hidden1 = [Float](repeating: 0, count: layerCount * hiddenWidth)
        hidden2 = hidden1
        outputs = [Float](repeating: 0, count: layerCount * (1 + baseCount))
        stepSizes = [Float](repeating: 0, count: layerCount)
        mixingWeights = [Float](repeating: 0, count: layerCount * baseCount)
    }
}
