import Kernels

/// Mean over all spatial positions: (N, C, H, W) → (N, C), the ResNet head's `avgpool` plus flatten.
public final class GlobalAvgPool: Layer {
    private var buffers = LayerBuffers(layerName: "GlobalAvgPool")

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, C)
        precondition(x.shape.count == 4, "GlobalAvgPool expects (N, C, H, W), got \(x.shape)")
        let planes = x.shape[0] * x.shape[1], planeSize = x.shape[2] * x.shape[3]
        let y = buffers.output(for: x, shape: [x.shape[0], x.shape[1]])
        let scale = 1 / Float(planeSize)
        for p in 0..<planes {
            y[p] = VectorOps.sum(UnsafeBufferPointer(start: x.pointer + p * planeSize, count: planeSize)) * scale
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (y, dx) = buffers.gradInput(for: gradOutput)
        let planeSize = buffers.inputShape[2] * buffers.inputShape[3]
        let scale = 1 / Float(planeSize)
        for p in 0..<y.count {
            (dx.pointer + p * planeSize).update(repeating: gradOutput[p] * scale, count: planeSize)
        }
        return dx
    }
}
