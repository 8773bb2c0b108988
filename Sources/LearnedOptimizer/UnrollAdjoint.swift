import Optimizers

/// The adjoints carried backward through a truncation, from step k+T to k: θ̄, the EMA-state adjoints, the
/// base-state adjoints s̄ (second order), and the accumulated meta-gradient φ̄; plus scratch buffers so the
/// reverse pass allocates per truncation, not per step.
struct UnrollAdjoint {
    var parameters: [Float]
    var parameterAverages: [Float]
    var gradientAverages: [Float]
    var lossAverages: [Float]
    /// s̄ in the same slot layout as the base states (m̄ in `firstMoment`, v̄ in `secondMoment`).
    var baseStates: [OptimizerState]
    var metaParameters: [Float]
    /// Scratch: ḡ_k, d̄ of one base rule, H ḡ, the MLP's output and feature adjoints, ⟨θ̄_l, d̂_l,p⟩.
    var gradient: [Float]
    var direction: [Float]
    var hessianProduct: [Float]
    var outputs: [Float]
    var features: [Float]
    var directionDots: [Double]
    /// 2ρ/(T·L): the step-size penalty's derivative per unit of clip(o_λ), added to every step's ō_λ.
    var stepSizePenaltyScale: Double = 0

    init(optimizer: L3RSOptimizer) {
        let n = optimizer.parameterCount
        let layerCount = optimizer.layers.count
        let decays = FeatureLayout.emaDecays.count
        let baseCount = optimizer.rules.count
        parameters = [Float](repeating: 0, count: n)
        parameterAverages = [Float](repeating: 0, count: decays * layerCount)
        gradientAverages = parameterAverages
        lossAverages = [Float](repeating: 0, count: decays)
        baseStates = optimizer.rules.map { $0.makeState(count: n) }
        metaParameters = [Float](repeating: 0, count: optimizer.metaParameters.values.count)
        gradient = parameters
        direction = parameters
        hessianProduct = parameters
        outputs = [Float](repeating: 0, count: layerCount * (1 + baseCount))
        features = [Float](repeating: 0, count: layerCount * optimizer.featureLayout.count)
        directionDots = [Double](repeating: 0, count: layerCount * baseCount)
    }

    /// Lends the MLP's output adjoints (read) and the φ̄ and feature adjoints it writes, for `MetaNetwork.backward`.
    mutating func withNetworkAdjoints(
        _ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        let outputs = self.outputs
        outputs.withUnsafeBufferPointer { outputs in
            metaParameters.withUnsafeMutableBufferPointer { metaParameters in
                features.withUnsafeMutableBufferPointer { features in body(outputs, metaParameters, features) }
            }
        }
    }
}
