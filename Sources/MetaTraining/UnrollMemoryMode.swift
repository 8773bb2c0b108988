import Choices

/// How meta-training keeps a truncation's intermediates for the reverse pass (`memory`); the chosen
/// `UnrollMemory` is `MetaTrainer.memoryMode`'s. Storing and recomputing give the same meta-gradient.
public enum UnrollMemoryMode: String, ConfigurationChoice {
    /// Store while the intermediates fit `memoryBudgetMB`, else recompute segments that do.
    case auto
    /// Store every step's intermediates.
    case store
    /// Recompute them in segments of `recomputeSegment` steps (0: the whole truncation).
    case recompute
}
