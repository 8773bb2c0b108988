import Kernels

/// max(0, x), element-wise on any shape. The derivative at exactly 0 is taken as 0, like PyTorch.
public final class ReLU: Layer {
    private var output: Tensor?
    private var gradInput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        VectorOps.relu(x.readable, into: y.storage)
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let y = output else { preconditionFailure("ReLU.backward before forward") }
        precondition(gradOutput.shape == y.shape, "ReLU.backward: gradient shape \(gradOutput.shape)")
        let dx = Tensor.reusing(gradInput, shape: y.shape)
        gradInput = dx
        VectorOps.reluGradient(output: y.readable, gradient: gradOutput.readable, into: dx.storage)
        return dx
    }
}
