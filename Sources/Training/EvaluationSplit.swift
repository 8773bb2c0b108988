import Choices

/// Which images a run evaluates on (`evaluationSplit`).
public enum EvaluationSplit: String, ConfigurationChoice {
    /// The dataset's test split (the default, and every reported number).
    case test
    /// A seeded held-out part of the training split (`validationFraction`, `validationSeed`), for tuning
    /// hyperparameters without ever reading the test split.
    case validation
}
