import Kernels

/// Fully connected layer in PyTorch's layout: weight (out, in), bias (out), y = x·Wᵀ + b.
/// Forward and both weight products are single sgemm calls over the whole batch.
public final class Linear: Layer {
    public let inputFeatures: Int
    public let outputFeatures: Int
    public let weight: ParameterEntry
    public let bias: ParameterEntry?
    private let parameters: ParameterStore

    private var input: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?

    public var parameterEntries: [ParameterEntry] { [weight] + (bias.map { [$0] } ?? []) }

    /// Registers `name.weight` (and `name.bias`) with `registry`.
    public init(name: String, inputFeatures: Int, outputFeatures: Int, bias hasBias: Bool = true, registry: ParameterRegistry) {
        precondition(inputFeatures > 0 && outputFeatures > 0, "Linear needs positive sizes")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        parameters = registry.parameters
        weight = registry.parameters.register(
            name: name + ".weight", shape: [outputFeatures, inputFeatures], kind: .linearWeight, fanIn: inputFeatures)
        bias = hasBias
            ? registry.parameters.register(name: name + ".bias", shape: [outputFeatures], kind: .bias, fanIn: inputFeatures)
            : nil
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, in) → y: (N, out)
        precondition(x.shape.count == 2 && x.shape[1] == inputFeatures, "Linear expects (N, \(inputFeatures)), got \(x.shape)")
        let batch = x.shape[0]
        let y = Tensor.reusing(output, shape: [batch, outputFeatures])
        output = y
        input = x
        let w = parameters.values(of: weight).baseAddress!
        if let bias {
            // Start every row at b, then accumulate x·Wᵀ on top (beta = 1).
            let b = parameters.values(of: bias).baseAddress!
            for n in 0..<batch { (y.pointer + n * outputFeatures).update(from: b, count: outputFeatures) }
        }
        // y (N, out) = x (N, in) · Wᵀ (in, out); W is stored (out, in).
        GEMM.multiply(x.pointer, w, transposeB: true, into: y.pointer,
                      m: batch, n: outputFeatures, k: inputFeatures, beta: bias == nil ? 0 : 1)
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor { backward(gradOutput, inputGradient: true)! }

    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor? {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        let batch = x.shape[0]
        precondition(gradOutput.shape == [batch, outputFeatures], "Linear.backward: gradient shape \(gradOutput.shape)")
        let dy = gradOutput.pointer
        // dW (out, in) += dyᵀ (out, N) · x (N, in)
        GEMM.multiply(dy, transposeA: true, x.pointer, into: parameters.gradients(of: weight).baseAddress!,
                      m: outputFeatures, n: inputFeatures, k: batch, beta: 1)
        if let bias {
            // db (out) += Σ_n dy[n, :]
            let db = parameters.gradients(of: bias)
            for n in 0..<batch {
                VectorOps.add(UnsafeBufferPointer(start: dy + n * outputFeatures, count: outputFeatures), to: db)
            }
        }
        guard inputGradient else { return nil }
        // dx (N, in) = dy (N, out) · W (out, in)
        let dx = Tensor.reusing(gradInput, shape: x.shape)
        gradInput = dx
        GEMM.multiply(dy, parameters.values(of: weight).baseAddress!, into: dx.pointer,
                      m: batch, n: inputFeatures, k: outputFeatures)
        return dx
    }
}
