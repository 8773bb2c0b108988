import Choices

/// How a layer tells the shared MLP who it is.
public enum L3RSVariant: String, ConfigurationChoice {
    /// A trainable embedding e_l ∈ R^embeddingWidth per layer (the paper's choice): most expressive, but ties
    /// the optimizer to the layer table it was trained on.
    case layerEmbedding
    /// A one-hot of the layer kind plus the relative depth: applies to any layer table, so the optimizer can
    /// transfer across architectures (docs/method.md §7).
    case kindAndDepth
}
