import LearnedOptimizer
import Network
import Optimizers

/// Builds the update rule a training configuration names: a hand-designed optimizer with the model's
/// parameter groups, or L3RS (from a learned-optimizer file, or at its initialisation).
public enum UpdateRules {
    /// The `optimizer` value that selects a learned optimizer.
    public static let learnedOptimizerName = "l3rs"

    public static func make(configuration: TrainingConfiguration, model: Model) throws -> any UpdateRule {
        guard configuration.optimizer == learnedOptimizerName else {
            let groups = try ParameterGroups.make(for: model, configuration: configuration)
            let optimizer = try HandDesignedOptimizer(
                configuration: try configuration.optimizerConfiguration(), parameterCount: model.parameterCount,
                groups: groups)
            return HandDesignedUpdateRule(name: configuration.optimizer, optimizer: optimizer)
        }
        let layers = LayerSlices.make(for: model)
        if !configuration.l3rsWeights.isEmpty {
            return L3RSUpdateRule(optimizer: try LearnedOptimizerFile.load(
                configuration.l3rsWeights, layers: layers, parameterCount: model.parameterCount),
                horizon: configuration.steps)
        }
        // The untrained L3RS: exactly normalised Adam with step λ0 = learningRate (the baseline a learned
        // optimizer must beat).
        let initial = L3RSConfiguration(baseLearningRate: Float(configuration.learningRate))
        return L3RSUpdateRule(optimizer: try L3RSOptimizer(configuration: initial, layers: layers,
                                                           parameterCount: model.parameterCount),
                              horizon: configuration.steps)
    }
}
