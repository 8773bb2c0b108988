import Choices
import LearnedOptimizer

/// An ablation of L3RS the pipeline meta-trains and evaluates next to the method (docs/method.md §7).
public enum PipelineAblation: String, ConfigurationChoice {
    /// λ learned, μ fixed uniform.
    case stepSizeOnly
    /// μ learned, λ fixed at λ0.
    case mixingOnly
    /// The embedding-free (kindAndDepth) variant, which is not tied to one layer table.
    case embeddingFree

    /// The stage and optimizer name in folders and tables.
    public var label: String {
        switch self {
        case .stepSizeOnly: return "l3rs-lambda-only"
        case .mixingOnly: return "l3rs-mu-only"
        case .embeddingFree: return "l3rs-embedding-free"
        }
    }

    /// What the ablation changes, for the report.
    public var summary: String {
        switch self {
        case .stepSizeOnly: return "λ learned, μ fixed uniform"
        case .mixingOnly: return "μ learned, λ fixed at λ0"
        case .embeddingFree: return "no layer embeddings (layer kind and depth instead)"
        }
    }

    var learnedOutputs: L3RSLearnedOutputs {
        switch self {
        case .stepSizeOnly: return .stepSizeOnly
        case .mixingOnly: return .mixingOnly
        case .embeddingFree: return .stepSizeAndMixing
        }
    }

    var variant: L3RSVariant { self == .embeddingFree ? .kindAndDepth : .layerEmbedding }
}
