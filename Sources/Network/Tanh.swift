import Foundation

/// tanh(x), element-wise; backward uses the cached output: dx = dy·(1 − y²).
public final class Tanh: Layer {
    private var output: Tensor?
    private var gradInput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        let source = x.storage, target = y.storage
        for i in 0..<target.count { target[i] = tanh(source[i]) }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let y = output else { preconditionFailure("Tanh.backward before forward") }
        precondition(gradOutput.shape == y.shape, "Tanh.backward: gradient shape \(gradOutput.shape)")
        let dx = Tensor.reusing(gradInput, shape: y.shape)
        gradInput = dx
        let out = y.storage, dy = gradOutput.storage, target = dx.storage
        for i in 0..<target.count { target[i] = dy[i] * (1 - out[i] * out[i]) }
        return dx
    }
}
