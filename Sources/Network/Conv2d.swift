import Kernels

/// 2-D convolution in PyTorch's layout: weight (out, in, kh, kw), bias (out); square stride and zero padding.
///
/// The batch is processed in chunks of c images. Each chunk is unfolded by im2col into one
/// (in·kh·kw, c·outH·outW) column matrix and every pass is one wide sgemm per chunk: forward
/// Y (out, c·P) = W · columns, weight gradient dW += dY · columnsᵀ, input gradient dcolumns = Wᵀ · dY (folded
/// back by col2im). Per-image sgemms on 7×7 or 14×14 maps have only 49…196 columns and spend most of their
/// time packing; chunked ones run near the sgemm ceiling. c is chosen so a chunk's columns stay in cache
/// (`chunkFloats`), which also means the batch's columns are never stored: backward redoes the im2col of
/// each chunk, a cheap copy next to streaming a batch-wide matrix through memory twice (and with two ranks
/// on one socket the memory bandwidth is what they share). The channel-major product is copied into
/// (N, out, P) with the bias fused.
///
/// A 3×3 stride-1 or stride-2 convolution with few input channels (`DirectConvolution.supports`,
/// `supportsForwardByChannels`) runs the direct kernels instead, for forward, weight gradient and the input
/// gradient (stride 1 where the swapped geometry is supported too, stride 2 with padding 1): there the sgemm
/// has a small k or m and is bound by packing and the transpose. Each pass has its predicate
/// (`supportsWeightGradient`, `supportsStride2InputGradient`), so one may run direct where another does not.
///
/// The loops around the sgemms (im2col, col2im, the layout copies, the bias sums) and the direct kernels run on
/// `WorkerPool.shared`, image by image (channel by channel for the bias), each thread with scratch of its own.
/// The direct weight gradient sums the batch in groups of `imagesPerWeightGradientGroup` consecutive images,
/// added in order: the result does not depend on the thread count.
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
    /// The last forward's input (layers never write into their inputs, and it stays valid until backward).
    private var input: Tensor?
    /// (in·kh·kw, c·P) scratch: one chunk's columns; in backward also its column gradient.
    private var columns: Tensor?
    /// (out, c·P) scratch: one chunk's forward product before it is laid out as (N, out, P), and in backward
    /// the chunk's dY re-laid out channel-major for the two sgemms.
    private var channelMajor: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    /// dY taken through the fused ReLU (`fusesReLU`) where the kernels do not mask it themselves.
    private var rectifiedGradient: Tensor?
    /// Direct path, per pool thread: one padded image (forward and the weight gradient pad each image into it
    /// again: a batch-wide buffer made every pad a write to cold memory and every weight-gradient read a cold
    /// read), and the weight gradient's transposed dY of one image (the stride-2 forward's transposed output).
    private var padded: [Tensor] = []
    private var transposedGradient: [Tensor] = []
    /// Direct weight gradient: dW in the kernel's sum layout (`DirectConvolution.weightGradientSumSize`) and db,
    /// per group of images.
    private var transposedWeightGradient: [Tensor] = []
    private var groupBiasGradient: [Tensor] = []
    /// Stride-2 forward: W transposed, (C, 9, roundUp(out, 8)).
    private var transposedWeight: Tensor?
    /// Direct input gradient: W re-laid as (in, out, 3, 3) with each kernel rotated by 180° (stride 1), and one
    /// padded dY image per pool thread.
    private var rotatedWeight: Tensor?
    private var paddedGradient: [Tensor] = []

    /// Images per group whose direct weight gradients are summed apart and then added in order: fixed so the
    /// sum does not depend on the thread count; 8 groups (tasks) at a batch of 128. A batch of at most 16 is one
    /// serial sum as before the pool, so 1 and 2 ranks on small batches still add in the same shape (one sum
    /// per rank: TrainingTests' BatchNormRankTests compares them after 20 Adam steps, which amplify rounding).
    public static let imagesPerWeightGradientGroup = 16

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

    /// Upper bound on the floats of one chunk's column matrix (2 MiB: about the per-core L2 plus a share of
    /// L3), while each chunk's sgemm stays wide. Settable so tests can force several chunks.
    public var chunkFloats = 1 << 19
    /// Use `DirectConvolution` where it applies. Settable so tests can compare it with the im2col path.
    public var allowsDirectKernel = true
    /// Apply ReLU to the output (x > 0 ? x : 0, as `ReLU` does) and take dY through it in backward: set by
    /// `Model(table:)` where a ReLU row follows the conv, whose `ReLU` then passes values through. The
    /// row-blocked first-layer kernels do both inside their passes (MNIST's 1→32: the ReLU's read and write of a
    /// 12.8 MB activation forward and its three streams backward are gone); elsewhere the output is rectified
    /// in place after the conv and dY masked into a scratch, the passes the ReLU made. The pre-activation is not
    /// kept: leave it false where something needs it.
    public var fusesReLU = false

    private func usesDirectKernel(_ g: ConvolutionGeometry) -> Bool {
        allowsDirectKernel && DirectConvolution.supports(g)
    }

    /// Images per chunk for a geometry and batch size.
    private func chunkImages(_ g: ConvolutionGeometry, batch: Int) -> Int {
        max(1, min(batch, chunkFloats / max(1, g.columnRows * g.columnCount)))
    }

    /// One scratch tensor of `floats` per pool thread (`count` of them), reusing `existing`'s where they fit,
    /// and their addresses for the tasks.
    private static func scratch(_ existing: inout [Tensor], floats: Int, count: Int) -> [UnsafeMutablePointer<Float>] {
        existing = (0..<count).map { Tensor.reusing($0 < existing.count ? existing[$0] : nil, shape: [floats]) }
        return existing.map(\.pointer)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, out, outH, outW)
        precondition(x.shape.count == 4 && x.shape[1] == inputChannels, "Conv2d expects (N, \(inputChannels), H, W), got \(x.shape)")
        let g = ConvolutionGeometry(channels: inputChannels, height: x.shape[2], width: x.shape[3],
                                    kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
        geometry = g
        input = x
        if fusesReLU && kernelsFuseReLU(g) { return directForward(x, geometry: g, rectify: true) }
        let y = convolve(x, geometry: g)
        if fusesReLU {
            WorkerPool.shared.run(count: y.count, chunk: ReLU.elementsPerTask) { range, _ in
                let values = UnsafeMutableBufferPointer(rebasing: y.storage[range])
                VectorOps.relu(UnsafeBufferPointer(values), into: values)
            }
        }
        return y
    }

    /// Whether the kernels of a geometry apply a fused ReLU themselves: the row-blocked first-layer kernels.
    private func kernelsFuseReLU(_ g: ConvolutionGeometry) -> Bool {
        usesDirectKernel(g) && DirectConvolution.usesRowKernels(g)
    }

    /// The convolution (without a fused ReLU) by whichever path handles the geometry.
    private func convolve(_ x: Tensor, geometry g: ConvolutionGeometry) -> Tensor {
        let batch = x.shape[0]
        if allowsDirectKernel && DirectConvolution.supportsForwardByChannels(g) { return directForwardByChannels(x, geometry: g) }
        if usesDirectKernel(g) { return directForward(x, geometry: g) }
        let rows = g.columnRows, positions = g.columnCount
        let (chunk, cols, product) = im2colScratch(g, batch: batch)
        let y = Tensor.reusing(output, shape: [batch, outputChannels, g.outputHeight, g.outputWidth])
        output = y
        let w = parameters.values(of: weight).baseAddress!
        let b = bias.map { UnsafePointer(parameters.values(of: $0).baseAddress!) }
        let pool = WorkerPool.shared
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first), span = count * positions, start = first
            // columns: (C·kh·kw, c·P), image i of the chunk at column offset i·P
            pool.run(tasks: count) { i, _ in
                Im2Col.expand(image: x.pointer + (start + i) * g.imageSize, into: cols.pointer + i * positions,
                              geometry: g, rowStride: span)
            }
            // Y (out, c·P) = W (out, C·kh·kw) · columns (C·kh·kw, c·P)
            GEMM.multiply(w, cols.pointer, into: product.pointer, m: outputChannels, n: span, k: rows)
            pool.run(tasks: count) { i, _ in
                BatchTranspose.channelMajorToImageMajor(product.pointer, into: y.pointer + start * outputChannels * positions,
                                                        channels: outputChannels, batch: count, positions: positions, bias: b,
                                                        images: i..<i + 1)
            }
            first += count
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor { backward(gradOutput, inputGradient: true)! }

    public func backward(_ gradOutput: Tensor, inputGradient: Bool) -> Tensor? {
        guard let g = geometry, let x = input, let y = output else {
            preconditionFailure("Conv2d.backward before forward")
        }
        precondition(gradOutput.shape == y.shape, "Conv2d.backward: gradient shape \(gradOutput.shape), expected \(y.shape)")
        // The weight gradient and the stride-2 input gradient have predicates of their own: they also run
        // direct where the forward stays on im2col.
        let directWeights = allowsDirectKernel && DirectConvolution.supportsWeightGradient(g)
        // A fused ReLU's gradient: inside the row-blocked weight gradient when that is all backward computes,
        // else one masking pass (the ReLU layer's) before the other paths.
        let maskedByKernel = fusesReLU && !inputGradient && kernelsFuseReLU(g)
        let gradOutput = fusesReLU && !maskedByKernel ? rectify(gradOutput, output: y) : gradOutput
        if directWeights {
            directWeightGradient(x, gradOutput: gradOutput, geometry: g, rectifiedOutput: maskedByKernel ? y : nil)
        }
        guard inputGradient || !directWeights else { return nil }
        if usesDirectKernel(g), let adjoint = directAdjointGeometry(g) {
            return directInputGradient(gradOutput, inputShape: x.shape, adjoint: adjoint)
        }
        let stride2InputGradient = inputGradient && allowsDirectKernel && DirectConvolution.supportsStride2InputGradient(g)
        let dx = im2colBackward(x, gradOutput: gradOutput, geometry: g, weightGradient: !directWeights,
                                inputGradient: inputGradient && !stride2InputGradient)
        if stride2InputGradient {
            return directStride2InputGradient(gradOutput, inputShape: x.shape, geometry: g)
        }
        return dx
    }

    /// dY through the fused ReLU, y > 0 ? dY : 0, into a scratch of its own.
    private func rectify(_ gradOutput: Tensor, output y: Tensor) -> Tensor {
        let masked = Tensor.reusing(rectifiedGradient, shape: gradOutput.shape)
        rectifiedGradient = masked
        WorkerPool.shared.run(count: y.count, chunk: ReLU.elementsPerTask) { range, _ in
            VectorOps.reluGradient(output: UnsafeBufferPointer(rebasing: y.readable[range]),
                                   gradient: UnsafeBufferPointer(rebasing: gradOutput.readable[range]),
                                   into: UnsafeMutableBufferPointer(rebasing: masked.storage[range]))
        }
        return masked
    }

    /// The passes of backward that run on im2col chunks: dW and db (`weightGradient`) and dX (`inputGradient`,
    /// returned; nil without it).
    /// The im2col path's scratch for `chunk` images at a time (`chunkImages`): the column matrix
    /// (C·kh·kw, chunk·P) and the channel-major (out, chunk·P) product (forward) or dY (backward), kept while
    /// their shapes hold.
    private func im2colScratch(_ g: ConvolutionGeometry, batch: Int) -> (chunk: Int, columns: Tensor, channelMajor: Tensor) {
        let chunk = chunkImages(g, batch: batch)
        let cols = Tensor.reusing(columns, shape: [g.columnRows, chunk * g.columnCount])
        columns = cols
        let product = Tensor.reusing(channelMajor, shape: [outputChannels, chunk * g.columnCount])
        channelMajor = product
        return (chunk, cols, product)
    }

    private func im2colBackward(_ x: Tensor, gradOutput: Tensor, geometry g: ConvolutionGeometry,
                                weightGradient: Bool, inputGradient: Bool) -> Tensor? {
        guard weightGradient || inputGradient else { return nil }
        let batch = x.shape[0]
        let rows = g.columnRows, positions = g.columnCount
        // The direct forward leaves the column scratch unallocated.
        let (chunk, cols, dy) = im2colScratch(g, batch: batch)
        let w = parameters.values(of: weight).baseAddress!
        let dw = parameters.gradients(of: weight).baseAddress!
        let db = bias.map { parameters.gradients(of: $0) }
        var dx: Tensor?
        if inputGradient {
            dx = Tensor.reusing(gradInput, shape: x.shape)
            gradInput = dx
            dx?.fill(0)
        }
        let pool = WorkerPool.shared
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first), span = count * positions, start = first
            // dY chunk: (c, out, P) → (out, c·P)
            pool.run(tasks: count) { i, _ in
                BatchTranspose.imageMajorToChannelMajor(gradOutput.pointer + start * outputChannels * positions, into: dy.pointer,
                                                        channels: outputChannels, batch: count, positions: positions,
                                                        images: i..<i + 1)
            }
            if weightGradient {
                pool.run(tasks: count) { i, _ in
                    Im2Col.expand(image: x.pointer + (start + i) * g.imageSize, into: cols.pointer + i * positions,
                                  geometry: g, rowStride: span)
                }
                // dW (out, C·kh·kw) += dY (out, c·P) · columnsᵀ (c·P, C·kh·kw)
                GEMM.multiply(dy.pointer, cols.pointer, transposeB: true, into: dw, m: outputChannels, n: rows, k: span, beta: 1)
                if let db {
                    pool.run(tasks: outputChannels) { o, _ in
                        db[o] += VectorOps.sum(UnsafeBufferPointer(start: dy.pointer + o * span, count: span))
                    }
                }
            }
            if let dx {
                // dcolumns (C·kh·kw, c·P) = Wᵀ (C·kh·kw, out) · dY (out, c·P), into the columns scratch (its
                // columns are no longer needed), folded back per image by col2im.
                GEMM.multiply(w, transposeA: true, dy.pointer, into: cols.pointer, m: rows, n: span, k: outputChannels)
                pool.run(tasks: count) { i, _ in
                    Im2Col.accumulate(columns: cols.pointer + i * positions, into: dx.pointer + (start + i) * g.imageSize,
                                      geometry: g, rowStride: span)
                }
            }
            first += count
        }
        return dx
    }

    /// One padded image's scratch per pool thread for a geometry.
    private func paddedScratch(_ g: ConvolutionGeometry) -> [UnsafeMutablePointer<Float>] {
        Self.scratch(&padded, floats: DirectConvolution.paddedSize(g), count: WorkerPool.shared.threadCount)
    }

    /// One transposed dY (or stride-2 output) per pool thread.
    private func transposedGradientScratch(_ g: ConvolutionGeometry) -> [UnsafeMutablePointer<Float>] {
        Self.scratch(&transposedGradient, floats: DirectConvolution.transposedGradientSize(g, outputChannels: outputChannels),
                     count: WorkerPool.shared.threadCount)
    }

    /// Forward by `DirectConvolution`, image by image (`rectify`: with the fused ReLU, row-blocked kernel only).
    private func directForward(_ x: Tensor, geometry g: ConvolutionGeometry, rectify: Bool = false) -> Tensor {
        let batch = x.shape[0], images = paddedScratch(g)
        let y = Tensor.reusing(output, shape: [batch, outputChannels, g.outputHeight, g.outputWidth])
        output = y
        let w = parameters.values(of: weight).baseAddress!
        let b = bias.map { UnsafePointer(parameters.values(of: $0).baseAddress!) }
        let outputSize = outputChannels * g.columnCount, outputChannels = outputChannels
        WorkerPool.shared.run(tasks: batch) { n, thread in
            DirectConvolution.pad(image: x.pointer + n * g.imageSize, into: images[thread], geometry: g)
            DirectConvolution.forward(padded: images[thread], weight: w, bias: b,
                                      into: y.pointer + n * outputSize, outputChannels: outputChannels, geometry: g,
                                      rectify: rectify)
        }
        return y
    }

    /// Forward by `DirectConvolution.forwardByChannels`, image by image, on W transposed once. The output's
    /// transposed scratch is the weight gradient's dYᵀ scratch (the same size; forward is done with it before
    /// backward refills it).
    private func directForwardByChannels(_ x: Tensor, geometry g: ConvolutionGeometry) -> Tensor {
        let batch = x.shape[0], images = paddedScratch(g), scratch = transposedGradientScratch(g)
        let y = Tensor.reusing(output, shape: [batch, outputChannels, g.outputHeight, g.outputWidth])
        output = y
        let wt = Tensor.reusing(transposedWeight, shape: [DirectConvolution.transposedWeightSize(g, outputChannels: outputChannels)])
        transposedWeight = wt
        DirectConvolution.transposeWeight(parameters.values(of: weight).baseAddress!, into: wt.pointer,
                                          outputChannels: outputChannels, geometry: g)
        let b = bias.map { UnsafePointer(parameters.values(of: $0).baseAddress!) }
        let outputSize = outputChannels * g.columnCount, outputChannels = outputChannels
        WorkerPool.shared.run(tasks: batch) { n, thread in
            DirectConvolution.pad(image: x.pointer + n * g.imageSize, into: images[thread], geometry: g)
            DirectConvolution.forwardByChannels(padded: images[thread], transposedWeight: wt.pointer, bias: b,
                                                into: y.pointer + n * outputSize, scratch: scratch[thread],
                                                outputChannels: outputChannels, geometry: g)
        }
        return y
    }

    /// The input gradient of a stride-1 3×3 convolution is itself one: dY padded by 2 − p, correlated with
    /// the kernels rotated by 180° and in/out swapped. Its geometry, when the direct kernels handle it.
    private func directAdjointGeometry(_ g: ConvolutionGeometry) -> ConvolutionGeometry? {
        guard g.stride == 1, g.padding <= 2 else { return nil }
        let adjoint = ConvolutionGeometry(channels: outputChannels, height: g.outputHeight, width: g.outputWidth,
                                          kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 2 - g.padding)
        guard DirectConvolution.supports(adjoint), adjoint.outputHeight == g.height, adjoint.outputWidth == g.width else { return nil }
        return adjoint
    }

    /// dX by `DirectConvolution` on dY (see `directAdjointGeometry`), image by image.
    private func directInputGradient(_ gradOutput: Tensor, inputShape: [Int], adjoint: ConvolutionGeometry) -> Tensor {
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        let rotated = Tensor.reusing(rotatedWeight, shape: [inputChannels, outputChannels, 3, 3])
        rotatedWeight = rotated
        let w = parameters.values(of: weight)
        for o in 0..<outputChannels {
            for c in 0..<inputChannels {
                for tap in 0..<9 { rotated[(c * outputChannels + o) * 9 + 8 - tap] = w[(o * inputChannels + c) * 9 + tap] }
            }
        }
        let scratch = Self.scratch(&paddedGradient, floats: DirectConvolution.paddedSize(adjoint),
                                   count: WorkerPool.shared.threadCount)
        let inputSize = dx.count / inputShape[0], inputChannels = inputChannels
        WorkerPool.shared.run(tasks: inputShape[0]) { n, thread in
            DirectConvolution.pad(image: gradOutput.pointer + n * adjoint.imageSize, into: scratch[thread], geometry: adjoint)
            DirectConvolution.forward(padded: scratch[thread], weight: rotated.pointer, bias: nil, into: dx.pointer + n * inputSize,
                                      outputChannels: inputChannels, geometry: adjoint)
        }
        return dx
    }

    /// dX of a stride-2 convolution by `DirectConvolution.stride2InputGradient`, image by image.
    private func directStride2InputGradient(_ gradOutput: Tensor, inputShape: [Int], geometry g: ConvolutionGeometry) -> Tensor {
        let dx = Tensor.reusing(gradInput, shape: inputShape)
        gradInput = dx
        let scratch = Self.scratch(&paddedGradient, floats: DirectConvolution.stride2GradientSize(g, outputChannels: outputChannels),
                                   count: WorkerPool.shared.threadCount)
        let w = parameters.values(of: weight).baseAddress!
        let outputSize = outputChannels * g.columnCount, outputChannels = outputChannels
        WorkerPool.shared.run(tasks: inputShape[0]) { n, thread in
            DirectConvolution.padStride2Gradient(gradOutput.pointer + n * outputSize, into: scratch[thread],
                                                 outputChannels: outputChannels, geometry: g)
            DirectConvolution.stride2InputGradient(paddedGradient: scratch[thread], weight: w, into: dx.pointer + n * g.imageSize,
                                                   outputChannels: outputChannels, geometry: g)
        }
        return dx
    }

    /// dW and db by `DirectConvolution`, padding the last forward's images again; dW is summed in the kernel's
    /// layout per group of images (`imagesPerWeightGradientGroup`, one pool task each) and the groups are added in order.
    private func directWeightGradient(_ x: Tensor, gradOutput: Tensor, geometry g: ConvolutionGeometry,
                                      rectifiedOutput: Tensor? = nil) {
        let batch = x.shape[0], images = paddedScratch(g), scratch = transposedGradientScratch(g)
        let groupSize = Self.imagesPerWeightGradientGroup, groups = (batch + groupSize - 1) / groupSize
        let sumFloats = DirectConvolution.weightGradientSumSize(g, outputChannels: outputChannels)
        let sums = Self.scratch(&transposedWeightGradient, floats: sumFloats, count: groups)
        let biasSums = bias == nil ? [] : Self.scratch(&groupBiasGradient, floats: outputChannels, count: groups)
        let outputSize = outputChannels * g.columnCount, outputChannels = outputChannels
        WorkerPool.shared.run(tasks: groups) { group, thread in
            sums[group].update(repeating: 0, count: sumFloats)
            let gradBias = biasSums.isEmpty ? nil : biasSums[group]
            gradBias?.update(repeating: 0, count: outputChannels)
            for n in (group * groupSize)..<min(batch, (group + 1) * groupSize) {
                DirectConvolution.pad(image: x.pointer + n * g.imageSize, into: images[thread], geometry: g)
                DirectConvolution.accumulateWeightGradient(
                    padded: images[thread], gradOutput: gradOutput.pointer + n * outputSize, gradWeightSums: sums[group],
                    gradBias: gradBias, scratch: scratch[thread], outputChannels: outputChannels, geometry: g,
                    rectifiedOutput: rectifiedOutput.map { UnsafePointer($0.pointer + n * outputSize) })
            }
        }
        let dw = parameters.gradients(of: weight).baseAddress!
        for group in 0..<groups {
            DirectConvolution.foldWeightGradient(sums[group], into: dw, outputChannels: outputChannels, geometry: g)
        }
        if let bias {
            let db = parameters.gradients(of: bias)
            for group in 0..<groups {
                for o in 0..<outputChannels { db[o] += biasSums[group][o] }
            }
        }
    }
}
