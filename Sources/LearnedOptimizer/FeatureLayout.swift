/// The order and meaning of the F inputs of the MLP (docs/method.md §3), fixed here in one place because a trained
/// φ depends on it.
///
/// Per layer: for each statistic ξ ∈ {rms(θ_l), rms(g_l), training loss}, the EMAs of log(ξ_k/ξ_0) at every
/// decay in `emaDecays` followed by the absolute scale 0.1·log ξ_0; then tanh(k/τ) for every τ in
/// `timeScales`; then the layer identity (the embedding e_l, or a one-hot of the layer kind plus the relative
/// depth). Default F: 3·5 + 4 + 8 = 27 (embedding) or 3·5 + 4 + 6 = 25 (kind and depth). With horizon
/// features, two more after the time features: the progress k/H through the run's horizon H and the scale
/// 0.1·log H, so a rule can learn a schedule over the run it is in (and meet progress beyond 1 at longer
/// horizons) instead of one tied to absolute step counts.
public struct FeatureLayout: Sendable, Equatable {
    /// EMA decays γ; 0 is the current value.
    public static let emaDecays: [Float] = [0, 0.9, 0.99, 0.999]
    /// Time scales τ of the tanh(k/τ) features; none needs the run's horizon.
    public static let timeScales: [Float] = [10, 100, 1000, 10000]
    /// Every feature is clipped to [−clipBound, clipBound].
    public static let clipBound: Float = 10
    /// Weight of the absolute-scale feature 0.1·log ξ_0.
    public static let absoluteScaleWeight: Double = 0.1
    /// Added inside every log of a statistic, so that a layer whose parameters start at exactly zero (biases)
    /// gives a large but finite relative log, which the clip then bounds.
    public static let logFloor: Double = 1e-12

    public let variant: L3RSVariant
    public let embeddingWidth: Int
    /// Whether the progress k/H and the horizon scale 0.1·log H are features.
    public let horizonFeatures: Bool

    public init(variant: L3RSVariant, embeddingWidth: Int, horizonFeatures: Bool = false) {
        self.variant = variant
        self.embeddingWidth = embeddingWidth
        self.horizonFeatures = horizonFeatures
    }

    /// The layout of a configuration's feature set.
    public init(configuration: L3RSConfiguration) {
        self.init(variant: configuration.variant, embeddingWidth: configuration.embeddingWidth,
                  horizonFeatures: configuration.horizonFeatures)
    }

    /// The statistics ξ, in feature order.
    public enum Statistic: Int, CaseIterable, Sendable {
        case parameterRMS = 0
        case gradientRMS = 1
        case trainingLoss = 2
    }

    /// Features per statistic: one per EMA decay plus the absolute scale.
    public static var featuresPerStatistic: Int { emaDecays.count + 1 }

    /// Feature index of the EMA at `decayIndex` of `statistic`.
    public func averageIndex(_ statistic: Statistic, decayIndex: Int) -> Int {
        statistic.rawValue * Self.featuresPerStatistic + decayIndex
    }

    /// Feature index of 0.1·log ξ_0 of `statistic`.
    public func absoluteScaleIndex(_ statistic: Statistic) -> Int {
        statistic.rawValue * Self.featuresPerStatistic + Self.emaDecays.count
    }

    /// Feature index of tanh(k/τ_j).
    public func timeIndex(_ scaleIndex: Int) -> Int {
        Statistic.allCases.count * Self.featuresPerStatistic + scaleIndex
    }

    /// Feature index of the progress k/H (horizon features only); the horizon scale follows it.
    public var progressIndex: Int { timeIndex(Self.timeScales.count) }

    /// First feature index of the layer identity block.
    public var identityStart: Int { progressIndex + (horizonFeatures ? 2 : 0) }

    /// Width of the layer identity block.
    public var identityWidth: Int {
        switch variant {
        case .layerEmbedding: embeddingWidth
        case .kindAndDepth: LayerKind.allCases.count + 1
        }
    }

    /// F, the number of MLP inputs.
    public var count: Int { identityStart + identityWidth }
}
