import Choices

/// Which inputs the MLP reads (docs/method.md §3). A trained φ is tied to its feature set: the file records
/// it, and φ's first layer has one column per feature.
public enum L3RSFeatureSet: String, ConfigurationChoice {
    /// The original features: raw EMAs of the relative log-statistics, absolute scales, time (F = 27 with
    /// embeddings). Files written before feature sets existed are v1.
    case v1
    /// v1 with bias-corrected EMAs (a / (1 − γ^(k+1))), plus across-layer standardised log rms(θ_l) and
    /// log rms(g_l), the log-RMS of every base direction before normalisation, the cosine between g_l and
    /// every base direction (the momentum buffer among them), and the loss's progress against its EMAs.
    case v2
}
