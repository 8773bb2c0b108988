import Kernels

/// 2-D convolution in PyTorch's layout: weight (out, in, kh, kw), bias (out); square stride and zero padding.
///
/// Each image is unfolded by im2col into a (in·kh·kw, outH·outW) column matrix, and the convolution is one
/// sgemm per image: y_n (out, outH·outW) = W (out, in·kh·kw) · columns_n. The columns of the whole batch are
/// kept for the weight gradient, so backward needs no second im2col.
public final class Conv2d: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let weight: ParameterEntry
    public let bias: ParameterEntry?
    private let parameters: ParameterStore

    private var geometry: ConvolutionGeometry?
    private var columns: Tensor?
    private var columnGradient: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    private var inputShape: [Int] = []

    /// Registers `name.weight` (and `name.bias`) with `registry`.
    public init(
        name: String, inputChannels: Int, outputChannels: Int, kernelSize: Int,
        stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true, registry: ParameterRegistry
    ) {
        precondition(inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0)
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        parameters = registry.parameters
        let fanIn = inputChannels * kernelSize * kernelSize
        weight = registry.parameters.register(
            name: name + ".weight", shape: [outputChannels, inputChannels, kernelSize, kernelSize],
            kind: .convWeight, fanIn: fanIn)
        bias = hasBias
            ? registry.parameters.register(name: name + ".bias", shape: [outputChannels], kind: .bias, fanIn: fanIn)
            : nil
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, out, outH, outW)
        precondition(x.shape.count == 4 && x.shape[1] == inputChannels, "Conv2d expects (N, \(inputChannels), H, W), got \(x.shape)")
        let batch = x.shape[0]
        let g = ConvolutionGeometry(channels: inputChannels, height: x.shape[2], width: x.shape[3],
                                    kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
        geometry = g
        inputShape = x.shape
        let rows = g.columnRows, positions = g.columnCount
        let cols = Tensor.reusing(columns, shape: [batch, rows, positions])
        columns = cols
        let y = Tensor.reusing(output, shape: [batch, outputChannels, g.outputHeight, g.outputWidth])
        output = y
        let w = parameters.values(of: weight).baseAddress!
        let b = bias.map { parameters.values(of: $0).baseAddress! }
        for n in 0..<batch {
            let columnsN = cols.pointer + n * rows * positions
            let yN = y.pointer + n * outputChannels * positions
            // columns_n: (C·kh·kw, outH·outW)
            Im2Col.expand(image: x.pointer + n * g.imageSize, into: columnsN, geometry: g)
            if let b {
                for o in 0..<outputChannels { (yN + o * positions).update(repeating: b[o], count: positions) }
            }
            // y_n (out, P) = W (out, C·kh·kw) · columns_n (C·kh·kw, P)
            GEMM.multiply(w, columnsN, into: yN, m: outputChannels, n: positions, k: rows, beta: b == nil ? 0 : 1)
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let g = geometry, let cols = columns, let y = output else { preconditionFailure("Conv2d.backward before forward") }
        precondition(gradOutput.shape == y.shape, "Conv2d.backward: gradient shape \(gradOutput.shape), expected \(y.shape)")
        let batch = inputShape[0]
        let rows = g.columnRows, positions = g.columnCount
        let w = parameters.values(of: weight).baseAddress!
        let dw = parameters.gradients(of: weight).baseAddress!
        let db = bias.map { parameters.gradients(of: $0) }
        let dcols = Tensor.reusing(columnGradient, shape: [rows, positions])
        columnGradient = dcols
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        dx.fill(0)
        for n in 0..<batch {
            let dyN = gradOutput.pointer + n * outputChannels * positions
            // dW (out, C·kh·kw) += dy_n (out, P) · columns_nᵀ (P, C·kh·kw)
            GEMM.multiply(dyN, cols.pointer + n * rows * positions, transposeB: true, into: dw,
                          m: outputChannels, n: rows, k: positions, beta: 1)
            if let db {
                for o in 0..<outputChannels {
                    db[o] += VectorOps.sum(UnsafeBufferPointer(start: dyN + o * positions, count: positions))
                }
            }
            // dcolumns (C·kh·kw, P) = Wᵀ (C·kh·kw, out) · dy_n (out, P), folded back by col2im.
            GEMM.multiply(w, transposeA: true, dyN, into: dcols.pointer, m: rows, n: positions, k: outputChannels)
            Im2Col.accumulate(columns: dcols.pointer, into: dx.pointer + n * g.imageSize, geometry: g)
        }
        return dx
    }
}
