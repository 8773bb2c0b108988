import LearnedOptimizer
import Network
import Optimizers

/// Builds the update rule a training configuration names: a hand-designed optimizer with the model's
/// parameter groups, or L3RS (from a learned-optimizer file, or at its initialisation).
public enum UpdateRules {
    /// The `optimizer` value that selects a learned optimizer.
    public static let learnedOptimizerName = "l3rs"

    /// - Parameter layers: nil: the rule over all parameters; a run of whole layers of the model's parameter
    ///   table: the rule over their elements only, offsets counted from the first one's (one rank's shard under
    ///   sharded optimizer state), with its state for those layers alone.
    public static func make(configuration: TrainingConfiguration, model: Model, layers shard: Range<Int>? = nil)
        throws -> any UpdateRule {
        let entries = model.parameters.entries
        let elements = shard.map { entries[$0.lowerBound].offset..<(entries[$0.upperBound - 1].offset + entries[$0.upperBound - 1].count) }
            ?? 0..<model.parameterCount
        guard configuration.optimizer == learnedOptimizerName else {
            let groups = ParameterGroup.restricted(try ParameterGroups.make(for: model, configuration: configuration), to: elements)
            let optimizer = try HandDesignedOptimizer(
                configuration: try configuration.optimizerConfiguration(), parameterCount: elements.count,
                groups: groups)
            return HandDesignedUpdateRule(name: configuration.optimizer, optimizer: optimizer)
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
        return L3RSUpdateRule(optimizer: try shard.map { try whole.restricted(toLayers: $0) } ?? whole,
                              horizon: configuration.steps)
    }
}
