import Kernels

/// 2-D convolution in PyTorch's layout: weight (out, in, kh, kw), bias (out); square stride and zero padding.
///
/// The whole batch is unfolded by im2col into ONE (in·kh·kw, N·outH·outW) column matrix, and each pass is one
/// large sgemm: forward Y (out, N·P) = W · columns, weight gradient dW += dY · columnsᵀ (a reduction over all
/// N·P positions at once), input gradient dcolumns = Wᵀ · dY in chunks of images (folded back by col2im).
/// Per-image sgemms on 7×7 or 14×14 maps have n = 49…196 columns and spend most of their time packing; the
/// batched ones run near the sgemm ceiling. The channel-major product is copied into (N, out, P) with the
/// bias fused. The columns are kept for the weight gradient, so backward needs no second im2col.
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
    /// (out, N·P) scratch: the forward product before it is laid out as (N, out, P), and in backward dY
    /// re-laid out channel-major for the two sgemms.
    private var channelMajor: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    private var inputShape: [Int] = []

    public var parameterEntries: [ParameterEntry] { [weight] + (bias.map { [$0] } ?? []) }

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

    /// Upper bound on the floats of one chunk of the input-gradient columns: keeps that scratch in cache-sized
    /// pieces instead of a second batch-wide matrix, while each chunk's sgemm stays wide. (Settable so tests
    /// can force several chunks.)
    public var inputGradientChunkFloats = 1 << 20

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, out, outH, outW)
        precondition(x.shape.count == 4 && x.shape[1] == inputChannels, "Conv2d expects (N, \(inputChannels), H, W), got \(x.shape)")
        let batch = x.shape[0]
        let g = ConvolutionGeometry(channels: inputChannels, height: x.shape[2], width: x.shape[3],
                                    kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
        geometry = g
        inputShape = x.shape
        let rows = g.columnRows, positions = g.columnCount, span = batch * positions
        // columns: (C·kh·kw, N·P), image n's block at column offset n·P
        let cols = Tensor.reusing(columns, shape: [rows, span])
        columns = cols
        let y = Tensor.reusing(output, shape: [batch, outputChannels, g.outputHeight, g.outputWidth])
        output = y
        let product = Tensor.reusing(channelMajor, shape: [outputChannels, span])
        channelMajor = product
        for n in 0..<batch {
            Im2Col.expand(image: x.pointer + n * g.imageSize, into: cols.pointer + n * positions, geometry: g, rowStride: span)
        }
        // Y (out, N·P) = W (out, C·kh·kw) · columns (C·kh·kw, N·P)
        GEMM.multiply(parameters.values(of: weight).baseAddress!, cols.pointer, into: product.pointer,
                      m: outputChannels, n: span, k: rows)
        BatchTranspose.channelMajorToImageMajor(
            product.pointer, into: y.pointer, channels: outputChannels, batch: batch, positions: positions,
            bias: bias.map { UnsafePointer(parameters.values(of: $0).baseAddress!) })
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let g = geometry, let cols = columns, let y = output, let dy = channelMajor else {
            preconditionFailure("Conv2d.backward before forward")
        }
        precondition(gradOutput.shape == y.shape, "Conv2d.backward: gradient shape \(gradOutput.shape), expected \(y.shape)")
        let batch = inputShape[0]
        let rows = g.columnRows, positions = g.columnCount, span = batch * positions
        let w = parameters.values(of: weight).baseAddress!
        // dY: (N, out, P) → (out, N·P)
        BatchTranspose.imageMajorToChannelMajor(gradOutput.pointer, into: dy.pointer,
                                                channels: outputChannels, batch: batch, positions: positions)
        // dW (out, C·kh·kw) += dY (out, N·P) · columnsᵀ (N·P, C·kh·kw)
        GEMM.multiply(dy.pointer, cols.pointer, transposeB: true, into: parameters.gradients(of: weight).baseAddress!,
                      m: outputChannels, n: rows, k: span, beta: 1)
        if let bias {
            let db = parameters.gradients(of: bias)
            for o in 0..<outputChannels {
                db[o] += VectorOps.sum(UnsafeBufferPointer(start: dy.pointer + o * span, count: span))
            }
        }
        // dcolumns (C·kh·kw, c·P) = Wᵀ (C·kh·kw, out) · dY[:, chunk] (out, c·P), folded back per image by col2im.
        let chunk = max(1, min(batch, inputGradientChunkFloats / max(1, rows * positions)))
        let dcols = Tensor.reusing(columnGradient, shape: [rows, chunk * positions])
        columnGradient = dcols
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        dx.fill(0)
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            GEMM.multiply(w, transposeA: true, dy.pointer + first * positions, into: dcols.pointer,
                          m: rows, n: count * positions, k: outputChannels, leadingB: span, leadingC: chunk * positions)
            for i in 0..<count {
                Im2Col.accumulate(columns: dcols.pointer + i * positions, into: dx.pointer + (first + i) * g.imageSize,
                                  geometry: g, rowStride: chunk * positions)
            }
            first += count
        }
        return dx
    }
}
