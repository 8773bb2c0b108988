/// Layer normalisation over the trailing dimensions `normalizedShape` (PyTorch's LayerNorm with
/// elementwise affine): every leading index is normalised with its own mean and biased variance, then
/// scaled by `weight` and shifted by `bias`, both of shape `normalizedShape`. eps 1e-5.
public final class LayerNorm: Layer {
    public let normalizedShape: [Int]
    public let epsilon: Float
    public let scale: ParameterEntry
    public let shift: ParameterEntry
    private let parameters: ParameterStore
    private let featureCount: Int

    private var normalized: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    private var inverseStd: [Float] = []

    public var parameterEntries: [ParameterEntry] { [scale, shift] }

    public init(name: String, normalizedShape: [Int], epsilon: Float = 1e-5, registry: ParameterRegistry) {
        precondition(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 })
        self.normalizedShape = normalizedShape
        self.epsilon = epsilon
        featureCount = normalizedShape.reduce(1, *)
        parameters = registry.parameters
        scale = registry.parameters.register(name: name + ".weight", shape: normalizedShape, kind: .normScale)
        shift = registry.parameters.register(name: name + ".bias", shape: normalizedShape, kind: .normShift)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (…, normalizedShape) → y: same shape; one (mean, invStd) per leading index ("row").
        precondition(Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
                     "LayerNorm over \(normalizedShape) got \(x.shape)")
        let rows = x.count / featureCount, d = featureCount
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        let xhat = Tensor.reusing(normalized, shape: x.shape)
        normalized = xhat
        if inverseStd.count != rows { inverseStd = [Float](repeating: 0, count: rows) }
        let gamma = parameters.values(of: scale), beta = parameters.values(of: shift)
        for r in 0..<rows {
            let source = x.pointer + r * d, h = xhat.pointer + r * d, target = y.pointer + r * d
            var total = 0.0
            for j in 0..<d { total += Double(source[j]) }
            let mean = total / Double(d)
            var squares = 0.0
            for j in 0..<d {
                let deviation = Double(source[j]) - mean
                squares += deviation * deviation
            }
            let invStd = Float(1 / (squares / Double(d) + Double(epsilon)).squareRoot())
            inverseStd[r] = invStd
            let meanF = Float(mean)
            for j in 0..<d {
                h[j] = (source[j] - meanF) * invStd
                target[j] = gamma[j] * h[j] + beta[j]
            }
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let xhat = normalized else { preconditionFailure("LayerNorm.backward before forward") }
        precondition(gradOutput.shape == xhat.shape, "LayerNorm.backward: gradient shape \(gradOutput.shape)")
        let rows = xhat.count / featureCount, d = featureCount
        let dx = Tensor.reusing(gradInput, shape: xhat.shape)
        gradInput = dx
        let gamma = parameters.values(of: scale)
        let dGamma = parameters.gradients(of: scale), dBeta = parameters.gradients(of: shift)
        for r in 0..<rows {
            let dy = gradOutput.pointer + r * d, h = xhat.pointer + r * d, target = dx.pointer + r * d
            // With g = dy·γ: dx = invStd/D · (D·g − Σg − xhat·Σ(g·xhat)).
            var sumG = 0.0, sumGXhat = 0.0
            for j in 0..<d {
                let g = dy[j] * gamma[j]
                sumG += Double(g)
                sumGXhat += Double(g * h[j])
                dGamma[j] += dy[j] * h[j]
                dBeta[j] += dy[j]
            }
            let meanG = Float(sumG / Double(d)), meanGXhat = Float(sumGXhat / Double(d))
            let invStd = inverseStd[r]
            for j in 0..<d { target[j] = invStd * (dy[j] * gamma[j] - meanG - h[j] * meanGXhat) }
        }
        return dx
    }
}
