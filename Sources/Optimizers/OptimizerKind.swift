/// The base optimizers by the names the command line and YAML files use.
public enum OptimizerKind: String, LenientlyNamed {
    case sgd
    case momentum
    case nesterov
    case adam
    case adamw
    case lion
    case rmsprop

    /// The error for a name that is none of the kinds.
    public static func unknown(_ name: String) -> OptimizerConfigurationError {
        .unknownOptimizer(name, validNames: validNames)
    }

    /// The rule with the default hyperparameters of docs/method.md §2 (and PyTorch's for RMSprop).
    public func makeRule() -> any DirectionRule {
        makeDifferentiableRule()
    }

    /// `makeRule`'s rule with its adjoint (every kind has one): what L3RS's base rules are made from.
    public func makeDifferentiableRule() -> any DifferentiableDirectionRule {
        switch self {
        case .sgd: SGD()
        case .momentum: Momentum(nesterov: false)
        case .nesterov: Momentum(nesterov: true)
        case .adam: Adam()
        case .adamw: AdamW()
        case .lion: Lion()
        case .rmsprop: RMSprop()
        }
    }
}
