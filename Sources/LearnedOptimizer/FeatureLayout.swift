import Foundation

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
///
/// Feature set v2 (`L3RSFeatureSet.v2`) reads the EMAs bias-corrected and adds a block after the time (and
/// horizon) features, before the layer identity: the standardised log rms(θ_l) and log rms(g_l) (z-scores over
/// the layers), 0.1·log rms(d_l,p) for every base p, cos(g_l, d_l,p) for every base p, and the loss progress
/// â_0 − â_γ (current relative log-loss minus its bias-corrected EMA) for every decay γ > 0: 2 + 2P + 3
/// more, F = 38 with the default three bases and embeddings.
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
    public let featureSet: L3RSFeatureSet
    /// P: v2 has two features per base rule.
    public let baseCount: Int

    public init(variant: L3RSVariant, embeddingWidth: Int, horizonFeatures: Bool = false,
                featureSet: L3RSFeatureSet = .v1, baseCount: Int = 3) {
        self.variant = variant
        self.embeddingWidth = embeddingWidth
        self.horizonFeatures = horizonFeatures
        self.featureSet = featureSet
        self.baseCount = baseCount
    }

    /// The layout of a configuration's feature set.
    public init(configuration: L3RSConfiguration) {
        self.init(variant: configuration.variant, embeddingWidth: configuration.embeddingWidth,
                  horizonFeatures: configuration.horizonFeatures, featureSet: configuration.featureSet,
                  baseCount: configuration.baseCount)
    }

    /// Added to the across-layer variance before its square root in v2's standardised statistics, so that
    /// layers whose log-statistics all agree give z = 0, not 0/0.
    public static let standardisationVarianceFloor: Double = 1e-6
    /// Weight of v2's direction-RMS features 0.1·log rms(d_l,p), as the absolute scales.
    public static var directionScaleWeight: Double { absoluteScaleWeight }

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

    /// Whether the EMA features are divided by 1 − γ^(k+1) (v2).
    public var biasCorrectsAverages: Bool { featureSet == .v2 }

    /// First index of v2's block (standardised statistics, direction RMS, cosines, loss progress).
    public var extendedStart: Int { progressIndex + (horizonFeatures ? 2 : 0) }

    /// Width of v2's block: 2 standardised statistics, 2 per base rule, one loss progress per decay γ > 0.
    public var extendedWidth: Int {
        featureSet == .v2 ? 2 + 2 * baseCount + (Self.emaDecays.count - 1) : 0
    }

    /// Feature index of the standardised log rms of `statistic` (parameterRMS or gradientRMS; v2).
    public func standardisedIndex(_ statistic: Statistic) -> Int {
        precondition(statistic != .trainingLoss, "the loss is global: it has no across-layer standardisation")
        return extendedStart + statistic.rawValue
    }

    /// Feature index of 0.1·log rms(d_l,p) of base rule p (v2).
    public func directionScaleIndex(_ p: Int) -> Int { extendedStart + 2 + p }

    /// Feature index of cos(g_l, d_l,p) of base rule p (v2).
    public func cosineIndex(_ p: Int) -> Int { extendedStart + 2 + baseCount + p }

    /// Feature index of the loss progress â_0 − â_γ at decay index `decayIndex` ≥ 1 (v2).
    public func lossProgressIndex(decayIndex: Int) -> Int { extendedStart + 2 + 2 * baseCount + decayIndex - 1 }

    /// 1 − γ^(k+1): the bias correction of the EMA at `decayIndex` read at step k (its k+1-th update), 1 in v1.
    public func averageCorrection(decayIndex: Int, step: Int) -> Double {
        guard biasCorrectsAverages else { return 1 }
        return 1 - pow(Double(Self.emaDecays[decayIndex]), Double(step + 1))
    }

    /// First feature index of the layer identity block.
    public var identityStart: Int { extendedStart + extendedWidth }

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
