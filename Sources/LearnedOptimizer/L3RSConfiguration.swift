import Foundation
import Optimizers

/// Everything that fixes the shape and meaning of an L3RS optimizer's meta-parameters φ; saved next to φ so
/// a trained optimizer can be reloaded and checked against the model it is applied to.
public struct L3RSConfiguration: Sendable, Equatable, Codable {
    /// The P base optimizers whose normalised directions are mixed, in mixing-weight order.
    public var baseOptimizers: [OptimizerKind]
    /// λ0: the step size at o_λ = 0 (a per-element step, comparable to Adam's learning rate).
    public var baseLearningRate: Float
    public var variant: L3RSVariant
    /// Width of both hidden layers of the MLP.
    public var hiddenWidth: Int
    /// Width of the layer embedding (layerEmbedding variant only).
    public var embeddingWidth: Int
    /// Initial bias of the mixing logit of the preferred base optimizer (adam, else adamw); every other
    /// mixing logit starts at 0.
    ///
    /// Why 20 and not docs/method.md's example 3: with 3 the initial mix gives adam only μ ≈ 0.909, so the initial
    /// optimizer would not be "normalised Adam with learning rate λ0". With 20 the other weights are
    /// e^−20 ≈ 2·10⁻⁹ each, so μ_adam rounds to 1 in Float and the update equals normalised Adam to well
    /// within 10⁻⁶·λ0. The price: the softmax is saturated at initialisation, so the meta-gradient on the
    /// mixing logits starts ~10⁻⁹ times smaller and the learned optimizer is at first a layer-wise
    /// learning-rate scheduler over Adam. Set 3–5 here to start from a genuine mixture instead, whose mixing
    /// weights meta-training can move (jobs/configs/meta-train-fmnist.yaml uses 4; docs/design.md has the
    /// measurements).
    public var initialPreferredLogit: Float
    /// Half-width of the uniform distribution of the initial embedding entries ("small and random").
    public var embeddingInitialScale: Float
    /// Seed of the deterministic initialisation of φ.
    public var seed: UInt64
    /// Names of the layers the optimizer is (or was) trained on, in layer order.
    public var layerNames: [String]
    /// Which outputs are learned (the ablations hold λ or μ fixed). Files written before this existed decode
    /// as stepSizeAndMixing.
    public var learnedOutputs: L3RSLearnedOutputs
    /// Whether the MLP also reads the progress k/H through the run's horizon and 0.1·log H (`FeatureLayout`;
    /// the trainer sets H in `L3RSState.horizon`). Files written before this existed decode as false.
    public var horizonFeatures: Bool
    /// Which features the MLP reads (`L3RSFeatureSet`). Files written before this existed decode as v1.
    public var featureSet: L3RSFeatureSet
    /// The length of every base direction before the mix (`L3RSDirectionScale`): unit RMS, or the RMS of the
    /// layer's Adam direction. Files written before this existed decode as unit.
    public var directionScale: L3RSDirectionScale
    /// The schedule the step size follows over the run's horizon H before the MLP's factor:
    /// λ_l,k = λ0·m(k; H)·exp(o_λ,l,k), with m the hand-designed baselines' multiplier (`LearningRateSchedule`;
    /// warm-up over `baseWarmupFraction`·H steps for warmup-cosine and linear, decay to 0 at H). Constant (m = 1)
    /// is the design notes' rule; with a tuned schedule here (and `directionScale` adam) the untrained rule is
    /// the tuned baseline itself, and meta-training learns per-layer corrections to it. Files written before
    /// this existed decode as constant.
    public var baseSchedule: ScheduleKind
    public var baseWarmupFraction: Double

    public init(
        baseOptimizers: [OptimizerKind] = [.sgd, .momentum, .adam],
        baseLearningRate: Float = 1e-3,
        variant: L3RSVariant = .layerEmbedding,
        hiddenWidth: Int = 32,
        embeddingWidth: Int = 8,
        initialPreferredLogit: Float = 20,
        embeddingInitialScale: Float = 0.01,
        seed: UInt64 = 0,
        layerNames: [String] = [],
        learnedOutputs: L3RSLearnedOutputs = .stepSizeAndMixing,
        horizonFeatures: Bool = false,
        featureSet: L3RSFeatureSet = .v1,
        directionScale: L3RSDirectionScale = .unit,
        baseSchedule: ScheduleKind = .constant,
        baseWarmupFraction: Double = 0
    ) {
        self.baseOptimizers = baseOptimizers
        self.baseLearningRate = baseLearningRate
        self.variant = variant
        self.hiddenWidth = hiddenWidth
        self.embeddingWidth = embeddingWidth
        self.initialPreferredLogit = initialPreferredLogit
        self.embeddingInitialScale = embeddingInitialScale
        self.seed = seed
        self.layerNames = layerNames
        self.learnedOutputs = learnedOutputs
        self.horizonFeatures = horizonFeatures
        self.featureSet = featureSet
        self.directionScale = directionScale
        self.baseSchedule = baseSchedule
        self.baseWarmupFraction = baseWarmupFraction
    }

    private enum CodingKeys: String, CodingKey {
        case baseOptimizers, baseLearningRate, variant, hiddenWidth, embeddingWidth, initialPreferredLogit
        case embeddingInitialScale, seed, layerNames, learnedOutputs, horizonFeatures, featureSet, directionScale
        case baseSchedule, baseWarmupFraction
    }

    /// Every key is required except `learnedOutputs`, `horizonFeatures`, `featureSet`, `directionScale`,
    /// `baseSchedule` and `baseWarmupFraction`, which older files lack.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        baseOptimizers = try c.decode([OptimizerKind].self, forKey: .baseOptimizers)
        baseLearningRate = try c.decode(Float.self, forKey: .baseLearningRate)
        variant = try c.decode(L3RSVariant.self, forKey: .variant)
        hiddenWidth = try c.decode(Int.self, forKey: .hiddenWidth)
        embeddingWidth = try c.decode(Int.self, forKey: .embeddingWidth)
        initialPreferredLogit = try c.decode(Float.self, forKey: .initialPreferredLogit)
        embeddingInitialScale = try c.decode(Float.self, forKey: .embeddingInitialScale)
        seed = try c.decode(UInt64.self, forKey: .seed)
        layerNames = try c.decode([String].self, forKey: .layerNames)
        learnedOutputs = try c.decodeIfPresent(L3RSLearnedOutputs.self, forKey: .learnedOutputs) ?? .stepSizeAndMixing
        horizonFeatures = try c.decodeIfPresent(Bool.self, forKey: .horizonFeatures) ?? false
        featureSet = try c.decodeIfPresent(L3RSFeatureSet.self, forKey: .featureSet) ?? .v1
        directionScale = try c.decodeIfPresent(L3RSDirectionScale.self, forKey: .directionScale) ?? .unit
        baseSchedule = try c.decodeIfPresent(ScheduleKind.self, forKey: .baseSchedule) ?? .constant
        baseWarmupFraction = try c.decodeIfPresent(Double.self, forKey: .baseWarmupFraction) ?? 0
    }

    /// P, the number of base optimizers.
    public var baseCount: Int { baseOptimizers.count }

    /// The index of the base optimizer whose mixing logit starts at `initialPreferredLogit`: adam if present,
    /// else adamw, else none (all logits 0, a uniform mix).
    public var preferredBaseIndex: Int? {
        baseOptimizers.firstIndex(of: .adam) ?? baseOptimizers.firstIndex(of: .adamw)
    }

    /// The base whose RMS every direction is scaled to under `directionScale` adam (the preferred base: adam,
    /// else adamw); nil under unit.
    public var referenceBaseIndex: Int? {
        directionScale == .adam ? preferredBaseIndex : nil
    }

    /// The base schedule m(k; H) of λ0 (`baseSchedule`, `baseWarmupFraction`).
    public var stepSchedule: L3RSStepSchedule {
        L3RSStepSchedule(kind: baseSchedule, warmupFraction: baseWarmupFraction)
    }

    /// The configuration as one JSON string, for a safetensors `__metadata__` entry.
    public func encodedJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads a configuration written by `encodedJSON()`.
    public static func decode(json: String) throws -> L3RSConfiguration {
        try JSONDecoder().decode(L3RSConfiguration.self, from: Data(json.utf8))
    }
}
