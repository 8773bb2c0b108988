/// The base optimizers by the names the command line and YAML files use.
public enum OptimizerKind: String, CaseIterable, Sendable {
    case sgd
    case momentum
    case nesterov
    case adam
    case adamw
    case lion
    case rmsprop

    /// The accepted names, in declaration order, for help texts and error messages.
    public static var validNames: [String] { allCases.map(\.rawValue) }

    /// Parses a name case-insensitively, ignoring surrounding whitespace; unknown names throw an error that
    /// lists the valid ones.
    public init(parsing name: String) throws(OptimizerConfigurationError) {
        guard let kind = OptimizerKind(rawValue: normalisedName(name)) else {
            throw .unknownOptimizer(name, validNames: Self.validNames)
        }
        self = kind
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

extension OptimizerKind: Codable {
    /// Decodes through `init(parsing:)` so a YAML typo gets the same message as a command-line typo.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        do {
            self = try OptimizerKind(parsing: name)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
