import Foundation

/// tanh(x), element-wise; backward uses the cached output: dx = dy·(1 − y²).
public final class Tanh: Layer {
    private var buffers = LayerBuffers(layerName: "Tanh")

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = buffers.output(for: x)
        let source = x.storage, target = y.storage
        for i in 0..<target.count { target[i] = tanh(source[i]) }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (y, dx) = buffers.gradInput(for: gradOutput)
        let out = y.storage, dy = gradOutput.storage, target = dx.storage
        for i in 0..<target.count { target[i] = dy[i] * (1 - out[i] * out[i]) }
        return dx
    }
}
