import Choices

/// Which dependencies of the unroll on θ the meta-gradient follows (docs/method.md §5).
public enum MetaGradientOrder: String, ConfigurationChoice {
    /// The training gradients, losses and base-optimizer states are constants of θ: adjoints flow through
    /// the update, the MLP and the rms(θ_l) features only. No Hessian is needed; the default for large
    /// backbones.
    case firstOrder
    /// Also through the base optimizers' Jacobians, the rms(g_l) and loss features, and into θ via a
    /// Hessian-vector product of the training loss per step: the exact gradient of L_meta.
    case secondOrder
}
