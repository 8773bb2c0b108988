/// max(0, x), element-wise on any shape. The derivative at exactly 0 is taken as 0, like PyTorch.
public final class ReLU: Layer {
    private var output: Tensor?
    private var gradInput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        let source = x.storage, target = y.storage
        for i in 0..<target.count { target[i] = max(source[i], 0) }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let y = output else { preconditionFailure("ReLU.backward before forward") }
        precondition(gradOutput.shape == y.shape, "ReLU.backward: gradient shape \(gradOutput.shape)")
        let dx = Tensor.reusing(gradInput, shape: y.shape)
        gradInput = dx
        let out = y.storage, dy = gradOutput.storage, target = dx.storage
        for i in 0..<target.count { target[i] = out[i] > 0 ? dy[i] : 0 }
        return dx
    }
}
