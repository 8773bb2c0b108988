/// How a base optimizer's weight decay enters the update, following each optimizer's PyTorch/paper form.
public enum WeightDecayCoupling: String, Sendable, Codable {
    /// L2 regularisation folded into the gradient before the direction is computed, g ← g + wd·θ
    /// (PyTorch's `weight_decay` for SGD, momentum, Adam and RMSprop).
    case coupledL2
    /// Decay applied to the parameters outside the direction, θ ← θ − lr·wd·θ − lr·d
    /// (Loshchilov & Hutter's AdamW; Lion).
    case decoupled
}
