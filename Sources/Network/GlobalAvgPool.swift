import Kernels

/// Mean over all spatial positions: (N, C, H, W) → (N, C), the ResNet head's `avgpool` plus flatten.
public final class GlobalAvgPool: Layer {
    private var inputShape: [Int] = []
    private var output: Tensor?
    private var gradInput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, C)
        precondition(x.shape.count == 4, "GlobalAvgPool expects (N, C, H, W), got \(x.shape)")
        let planes = x.shape[0] * x.shape[1], planeSize = x.shape[2] * x.shape[3]
        let y = Tensor.reusing(output, shape: [x.shape[0], x.shape[1]])
        output = y
        inputShape = x.shape
        let scale = 1 / Float(planeSize)
        for p in 0..<planes {
            y[p] = VectorOps.sum(UnsafeBufferPointer(start: x.pointer + p * planeSize, count: planeSize)) * scale
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let y = output else { preconditionFailure("GlobalAvgPool.backward before forward") }
        precondition(gradOutput.shape == y.shape, "GlobalAvgPool.backward: gradient shape \(gradOutput.shape)")
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        let planeSize = inputShape[2] * inputShape[3]
        let scale = 1 / Float(planeSize)
        for p in 0..<y.count {
            (dx.pointer + p * planeSize).update(repeating: gradOutput[p] * scale, count: planeSize)
        }
        return dx
    }
}
