/// What a slice of a parameter store holds. Initialisation, per-layer optimiser features and checkpoint
/// export all branch on it, so it is recorded in the layer table rather than guessed from names.
public enum ParameterKind: String, Sendable, Codable, CaseIterable {
    /// Conv2d weight, (out, in, kh, kw).
    case convWeight
    /// Linear weight, (out, in).
    case linearWeight
    /// Additive bias of a Conv2d or Linear layer, (out).
    case bias
    /// BatchNorm/LayerNorm scale γ (PyTorch's `weight`).
    case normScale
    /// BatchNorm/LayerNorm shift β (PyTorch's `bias`).
    case normShift
    /// BatchNorm running mean (a buffer, not trained by gradient).
    case runningMean
    /// BatchNorm running (unbiased) variance (a buffer).
    case runningVariance
    /// BatchNorm `num_batches_tracked` (a buffer; an int64 in PyTorch, held here as a Float count).
    case batchCount

    /// Whether gradient descent updates entries of this kind.
    public var isTrainable: Bool {
        switch self {
        case .convWeight, .linearWeight, .bias, .normScale, .normShift: return true
        case .runningMean, .runningVariance, .batchCount: return false
        }
    }
}
