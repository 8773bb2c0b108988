import Optimizers

/// Everything L3RS carries from one step to the next, as a value type so the meta-trainer can store the
/// state at the start of a truncation, replay it, and checkpoint it.
///
/// Per-layer arrays have one entry per layer of the layer table; the EMA arrays are decay-major,
/// `[decayIndex * layerCount + layer]`, with `FeatureLayout.emaDecays` as decays.
public struct L3RSState: Sendable, Equatable {
    /// k, the number of steps taken; the time features read it.
    public var step: Int
    /// H, the steps the run is set to take (0: not known); only the horizon features read it.
    public var horizon: Int = 0
    /// One state per base optimizer, in configuration order.
    public var baseStates: [OptimizerState]
    /// ξ_0 of rms(θ_l), rms(g_l) and the training loss, recorded on step 0.
    public var initialParameterRMS: [Float]
    public var initialGradientRMS: [Float]
    public var initialLoss: Float
    /// EMAs of log(ξ_k/ξ_0) of rms(θ_l) and rms(g_l), per decay and layer.
    public var parameterRMSAverages: [Float]
    public var gradientRMSAverages: [Float]
    /// EMAs of log(ℓ_k/ℓ_0), per decay (the loss is global, shared by all layers).
    public var lossAverages: [Float]
    /// Features that were non-finite and replaced by 0, over the whole run.
    public var nonFiniteFeatureCount: Int

    /// The state before step 0.
    public init(baseStates: [OptimizerState], layerCount: Int) {
        let decays = FeatureLayout.emaDecays.count
        step = 0
        self.baseStates = baseStates
        initialParameterRMS = [Float](repeating: 0, count: layerCount)
        initialGradientRMS = [Float](repeating: 0, count: layerCount)
        initialLoss = 0
        parameterRMSAverages = [Float](repeating: 0, count: decays * layerCount)
        gradientRMSAverages = [Float](repeating: 0, count: decays * layerCount)
        lossAverages = [Float](repeating: 0, count: decays)
        nonFiniteFeatureCount = 0
    }
}
