/// The bookkeeping parameter-free layers (activations, pooling, reshapes) share: the output and input-gradient
/// tensors the layer owns and reuses while the batch shape is unchanged, the last input's shape, the tensor
/// the derivative is taken at (the last forward's input, or its output), and the preconditions of `backward`.
struct LayerBuffers {
    /// Where a layer's derivative is evaluated: GELU needs x; ReLU, tanh and the pooling layers only y.
    enum DerivativeAt {
        case input, output
    }

    let layerName: String
    let derivativeAt: DerivativeAt
    /// The shape of the last forward's input: ∂L/∂x's shape.
    private(set) var inputShape: [Int] = []
    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?

    init(layerName: String, derivativeAt: DerivativeAt = .output) {
        self.layerName = layerName
        self.derivativeAt = derivativeAt
    }

    /// The tensor the forward pass writes into, of `shape` (x's own by default); records x's shape, and x
    /// itself when the derivative is taken at it.
    mutating func output(for x: Tensor, shape: [Int]? = nil) -> Tensor {
        let y = Tensor.reusing(output, shape: shape ?? x.shape)
        output = y
        inputShape = x.shape
        if derivativeAt == .input { input = x }
        return y
    }

    /// The tensor the derivative is taken at (`derivativeAt` of the last forward) and the tensor the backward
    /// pass writes ∂L/∂x into; stops on a backward before any forward or a gradient not shaped like the output.
    mutating func gradInput(for gradOutput: Tensor) -> (at: Tensor, gradInput: Tensor) {
        guard let y = output, let at = derivativeAt == .input ? input : y else {
            preconditionFailure("\(layerName).backward before forward")
        }
        precondition(gradOutput.shape == y.shape, "\(layerName).backward: gradient shape \(gradOutput.shape)")
        return (at, gradInputTensor())
    }

    /// The tensor ∂L/∂x goes into (the last input's shape), without the checks of `gradInput(for:)`.
    mutating func gradInputTensor() -> Tensor {
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        return dx
    }
}
