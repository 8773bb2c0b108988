/// The builder that layers register their tensors with while a model is being constructed: one store for
/// trainable parameters, one for non-trainable buffers (BatchNorm running statistics). Both flat buffers
/// are allocated once, by `allocate()`, after every layer has registered.
public final class ParameterRegistry {
    public let parameters: ParameterStore
    public let buffers: ParameterStore

    public init() {
        parameters = ParameterStore(tracksGradients: true)
        buffers = ParameterStore(tracksGradients: false)
    }

    /// Allocates both stores' flat buffers (zero-filled).
    public func allocate() {
        parameters.allocate()
        buffers.allocate()
    }
}
