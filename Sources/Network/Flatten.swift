import Kernels

/// (N, d1, d2, …) → (N, d1·d2·…), PyTorch's `flatten(start_dim=1)`. The layout is already row-major, so
/// this is a copy into a tensor of the new shape (cheap next to the convolutions around it).
public final class Flatten: Layer {
    private var buffers = LayerBuffers(layerName: "Flatten")

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count >= 1, "Flatten needs a batch dimension")
        let batch = x.shape[0]
        let y = buffers.output(for: x, shape: [batch, batch == 0 ? 0 : x.count / batch])
        y.copy(from: x)
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let dx = buffers.gradInputTensor()
        precondition(gradOutput.count == dx.count, "Flatten.backward: gradient shape \(gradOutput.shape)")
        dx.copy(from: gradOutput)
        return dx
    }
}
