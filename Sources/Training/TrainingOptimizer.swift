import Choices
import Optimizers

/// The `optimizer` of a training run: one of the Optimizers module's base rules, or `l3rs`, the learned
/// optimizer. Its names are `OptimizerKind`'s and `l3rs` (a test keeps the two lists together), matched like
/// them ignoring case and surrounding whitespace.
public enum TrainingOptimizer: String, ConfigurationChoice {
    case sgd, momentum, nesterov, adam, adamw, lion, rmsprop
    case l3rs

    public static func canonicalSpelling(of text: String) -> String { OptimizerKind.canonicalSpelling(of: text) }

    /// The hand-designed rule it names; nil for `l3rs`.
    public var base: OptimizerKind? { OptimizerKind(rawValue: rawValue) }

    /// The training optimizer that runs `kind`.
    public init(_ kind: OptimizerKind) {
        guard let choice = TrainingOptimizer(rawValue: kind.rawValue) else {
            preconditionFailure("TrainingOptimizer lacks the base optimizer \(kind.rawValue)")
        }
        self = choice
    }
}
