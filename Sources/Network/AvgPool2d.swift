/// Average pooling over kernel×kernel windows (PyTorch's AvgPool2d, no padding, floor mode).
public final class AvgPool2d: Layer {
    public let kernelSize: Int
    public let stride: Int

    private var buffers = LayerBuffers(layerName: "AvgPool2d")

    public init(kernelSize: Int, stride: Int? = nil) {
        precondition(kernelSize > 0 && (stride ?? kernelSize) > 0)
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, C, outH, outW)
        precondition(x.shape.count == 4 && x.shape[2] >= kernelSize && x.shape[3] >= kernelSize, "AvgPool2d: bad input \(x.shape)")
        let planes = x.shape[0] * x.shape[1], height = x.shape[2], width = x.shape[3]
        let outH = (height - kernelSize) / stride + 1, outW = (width - kernelSize) / stride + 1
        let y = buffers.output(for: x, shape: [x.shape[0], x.shape[1], outH, outW])
        let scale = 1 / Float(kernelSize * kernelSize)
        for p in 0..<planes {
            let plane = x.pointer + p * height * width
            for oy in 0..<outH {
                for ox in 0..<outW {
                    var total: Float = 0
                    for ky in 0..<kernelSize {
                        let rowStart = (oy * stride + ky) * width + ox * stride
                        for kx in 0..<kernelSize { total += plane[rowStart + kx] }
                    }
                    y[(p * outH + oy) * outW + ox] = total * scale
                }
            }
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (y, dx) = buffers.gradInput(for: gradOutput)
        dx.fill(0)
        let inputShape = buffers.inputShape
        let planes = inputShape[0] * inputShape[1], height = inputShape[2], width = inputShape[3]
        let outH = y.shape[2], outW = y.shape[3]
        let scale = 1 / Float(kernelSize * kernelSize)
        for p in 0..<planes {
            let plane = dx.pointer + p * height * width
            for oy in 0..<outH {
                for ox in 0..<outW {
                    let share = gradOutput[(p * outH + oy) * outW + ox] * scale
                    for ky in 0..<kernelSize {
                        let rowStart = (oy * stride + ky) * width + ox * stride
                        for kx in 0..<kernelSize { plane[rowStart + kx] += share }
                    }
                }
            }
        }
        return dx
    }
}
