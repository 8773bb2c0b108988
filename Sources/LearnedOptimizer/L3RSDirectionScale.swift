import Choices

/// The length every base direction is given before the mix (docs/method.md §1). A trained φ is tied to it:
/// the file records it, and λ means something else under each.
public enum L3RSDirectionScale: String, ConfigurationChoice {
    /// Unit RMS over the layer, d̂ = d / rms(d): λ is the per-element step itself, the same in every layer and
    /// at every step unless the MLP changes it (the design notes' normalisation; files without the key).
    case unit
    /// The RMS of the layer's Adam direction (AdamW's where Adam is not a base), d̂ = d · rms(d_adam) / rms(d):
    /// with μ_adam = 1 the update is Adam's at learning rate λ exactly, so the initial rule is Adam at λ0 and
    /// keeps Adam's own shrinking of the step where the gradient is noisy, which unit RMS removes. Every other
    /// direction keeps its orientation at Adam's length, so mixtures stay on one scale.
    case adam
}
