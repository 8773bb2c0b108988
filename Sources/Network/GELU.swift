import Foundation

/// GELU in its exact form, PyTorch's default (`approximate='none'`): y = x·Φ(x) = ½x(1 + erf(x/√2)).
/// Derivative: Φ(x) + x·φ(x), with φ the standard normal density.
public final class GELU: Layer {
    private var buffers = LayerBuffers(layerName: "GELU", derivativeAt: .input)

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = buffers.output(for: x)
        let source = x.storage, target = y.storage
        let inverseSqrt2: Float = 0.70710678118654752
        for i in 0..<target.count {
            let v = source[i]
            target[i] = 0.5 * v * (1 + erf(v * inverseSqrt2))
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (x, dx) = buffers.gradInput(for: gradOutput)
        let source = x.storage, dy = gradOutput.storage, target = dx.storage
        let inverseSqrt2: Float = 0.70710678118654752
        let inverseSqrt2Pi: Float = 0.39894228040143268
        for i in 0..<target.count {
            let v = source[i]
            let cdf = 0.5 * (1 + erf(v * inverseSqrt2))
            let density = inverseSqrt2Pi * exp(-0.5 * v * v)
            target[i] = dy[i] * (cdf + v * density)
        }
        return dx
    }
}
