import LearnedOptimizer
import Network
import Optimizers

/// Builds the update rule a training configuration names: a hand-designed optimizer with the model's
/// parameter groups, or L3RS (from a learned-optimizer file, or at its initialisation).
public enum UpdateRules {
    /// - Parameters:
    ///   - elements: nil: the rule over all parameters; a range: over those elements only, offsets counted from its
    ///     start, with state for them alone (one rank's shard under sharded optimizer state). A hand-designed
    ///     rule may be cut anywhere; L3RS inside a layer only at a multiple of `SumOfSquares.chunkAlignment` from
    ///     its start (`ParameterShards`), and a shard with a cut layer must be given `shareStatistics(across:)`.
    public static func make(configuration: TrainingConfiguration, model: Model, elements shardElements: Range<Int>? = nil)
        throws -> any UpdateRule {
        let elements = shardElements ?? 0..<model.parameterCount
        guard configuration.optimizer == .l3rs else {
            let groups = ParameterGroup.restricted(try ParameterGroups.make(for: model, configuration: configuration), to: elements)
            let optimizer = try HandDesignedOptimizer(
                configuration: try configuration.optimizerConfiguration(), parameterCount: elements.count,
                groups: groups)
            return HandDesignedUpdateRule(name: configuration.optimizer.rawValue, optimizer: optimizer)
        }
        let layers = LayerSlices.make(for: model)
        let whole: L3RSOptimizer
        if !configuration.l3rsWeights.isEmpty {
            whole = try LearnedOptimizerFile.load(configuration.l3rsWeights, layers: layers, parameterCount: model.parameterCount)
        } else {
            // The untrained L3RS: exactly normalised Adam with step λ0 = learningRate (the baseline a learned
            // optimizer must beat).
            let initial = L3RSConfiguration(baseLearningRate: Float(configuration.learningRate))
            whole = try L3RSOptimizer(configuration: initial, layers: layers, parameterCount: model.parameterCount)
        }
        // The whole optimizer holds no per-element memory until its first step, so cutting it is cheap.
        return L3RSUpdateRule(optimizer: try shardElements.map { try whole.restricted(toElements: $0) } ?? whole,
                              horizon: configuration.steps)
    }
}
