/// A differentiable stage of a network: a forward/backward pair over Tensors.
///
/// Contract (every layer keeps it, the tests check it):
/// - `forward` caches what `backward` needs and returns a tensor the layer owns and reuses while the batch
///   shape is unchanged; callers must not write into it, and layers never write into their inputs.
/// - `backward` takes ∂L/∂output (same shape as the last forward's output), returns ∂L/∂input, and ADDS the
///   parameter gradients into the parameter store's gradient buffer (zeroing is the trainer's job, once per
///   step, so gradients of several micro-batches can accumulate).
/// - `backward` refers to the most recent `forward`; the `training` flag of that forward decides which
///   derivative is taken (BatchNorm with batch or running statistics, Dropout with a mask or identity).
public protocol Layer: AnyObject {
    func forward(_ x: Tensor, training: Bool) -> Tensor
    func backward(_ gradOutput: Tensor) -> Tensor
    /// `backward` that may skip ∂L/∂input (returning nil) when `inputGradient` is false: a network's first
    /// layer, whose input gradient nobody reads, then saves that product. Parameter gradients are the same.
    func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor?
    /// The trainable tensors whose gradients this layer's `backward` accumulates (sub-layers' included), so
    /// a model can say when a tensor's gradient is final and its allreduce may start.
    var parameterEntries: [ParameterEntry] { get }
}

extension Layer {
    /// Most layers (activations, pooling, reshapes) own no parameters.
    public var parameterEntries: [ParameterEntry] { [] }

    /// Layers whose input gradient costs little always compute it.
    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor? { backward(gradOutput) }
}

/// A layer with its own random stream (Dropout); models reseed these to make a training run reproducible
/// or to replay the same masks (gradient checks, meta-training replays).
public protocol StochasticLayer: Layer {
    func reseed(_ seed: UInt64)
}

/// A layer built from other layers (BasicBlock), so containers can reach stochastic sub-layers.
public protocol CompositeLayer: Layer {
    var sublayers: [any Layer] { get }
}
