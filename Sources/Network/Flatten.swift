import Kernels

/// (N, d1, d2, …) → (N, d1·d2·…), PyTorch's `flatten(start_dim=1)`. The layout is already row-major, so
/// this is a copy into a tensor of the new shape (cheap next to the convolutions around it).
public final class Flatten: Layer {
    private var inputShape: [Int] = []
    private var output: Tensor?
    private var gradInput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count >= 1, "Flatten needs a batch dimension")
        let batch = x.shape[0]
        let y = Tensor.reusing(output, shape: [batch, batch == 0 ? 0 : x.count / batch])
        output = y
        inputShape = x.shape
        y.copy(from: x)
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        precondition(gradOutput.count == dx.count, "Flatten.backward: gradient shape \(gradOutput.shape)")
        dx.copy(from: gradOutput)
        return dx
    }
}
