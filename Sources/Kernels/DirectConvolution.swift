import CVectorKernels

/// Direct 3×3 convolution, stride 1 or 2, for few input channels (a first layer's 1 or 3, a small ResNet's
/// 16–64, its stride-2 16→32 and 32→64).
///
/// There im2col + sgemm multiplies with k = C·9 ≤ 576 and m = out ≤ 64 on narrow maps: the sgemm is bound by
/// packing and memory, and its channel-major product still has to be transposed into (N, out, P). The direct kernels (C, AVX2 + FMA
/// where the CPU has it) write (out, P) per image and read each padded input row from L1. The image is
/// padded once into a scratch layout (`paddedSize`) that forward and the weight gradient share; with
/// stride 2 each padded row is stored as its even columns, then its odd columns, so the taps of consecutive
/// outputs (columns 2x, 2x + 1, 2x + 2) are contiguous vectors of one half. The weight gradient and the
/// stride-2 forward vectorise over output channels instead, from dY transposed per image
/// (`accumulateWeightGradient`) and W transposed per batch (`forwardByChannels`, also stride 1 where the
/// pixel-vectorised kernel declines). A first layer's 1–3 channels run row-blocked kernels (`usesRowKernels`).
///
/// The input gradient of stride 1 is the forward kernel on dY (Conv2d's adjoint geometry). That of stride 2
/// with padding 1 (`stride2InputGradient`) splits dX by the parity of its rows and columns into four stride-1
/// correlations of dY with 1, 2, 2 and 4 of the taps, interleaved as they are stored: a stride-2 adjoint
/// would otherwise multiply the zeros of a dilated dY or need im2col's sgemm and col2im.
public enum DirectConvolution {
    /// Whether the pixel-vectorised forward (and the stride-1 input gradient, the same kernel on dY) handles a
    /// geometry and is expected to beat im2col + sgemm on it: 3×3 stride 1, up to 16 input channels at any
    /// width; up to 64 where the output rows are whole vectors (ResNet's 32×32, 16×16 and 8×8 stages).
    /// Elsewhere (MNIST's 32→64 on 14×14) the sgemm is wide enough. Stride 2 has predicates of its own
    /// (`supportsForwardByChannels`, `supportsWeightGradient`, `supportsStride2InputGradient`).
    public static func supports(_ g: ConvolutionGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && (g.channels <= 16 || g.channels <= 64 && g.outputWidth % 8 == 0)
    }

    /// Rows and row length of one padded plane: H + 2p rows, with zero slack after the last output column
    /// so the kernels' whole-vector loads stay inside the row. With stride 2, `width` is the length of each
    /// half (even columns, odd columns) of a row.
    public static func paddedPlane(_ g: ConvolutionGeometry) -> (height: Int, width: Int) {
        let vectorWidth = g.outputWidth % 8 == 0 ? g.outputWidth : (g.outputWidth + 31) / 32 * 32
        return (g.height + 2 * g.padding, vectorWidth + (g.kernelWidth - 1) / g.stride)
    }

    /// Floats of one padded image.
    public static func paddedSize(_ g: ConvolutionGeometry) -> Int {
        let plane = paddedPlane(g)
        return g.channels * plane.height * plane.width * g.stride
    }

    /// Whether the direct weight gradient handles a geometry (and is expected to beat im2col's sgemm on it):
    /// those of `supports` and of `supportsForwardByChannels`: 3×3 stride 2 up to 32 input channels (ResNet's
    /// 32→64 on 16×16: it took that layer's forward + backward from 60–62% of the sgemm ceiling to 66–75% under
    /// im2col's forward) and stride 1 with 17–32 channels on rows of no whole vectors (MNIST's 32→64 on 14×14,
    /// whose backward then needs no im2col: only dX stays on the sgemm and col2im).
    public static func supportsWeightGradient(_ g: ConvolutionGeometry) -> Bool {
        supports(g) || supportsForwardByChannels(g)
    }

    /// Floats of the weight gradient's dY scratch (one image's dY transposed, (outH·outW, roundUp(out, 8))).
    public static func transposedGradientSize(_ g: ConvolutionGeometry, outputChannels: Int) -> Int {
        g.columnCount * ((outputChannels + 7) / 8 * 8)
    }

    /// Whether forward and the weight gradient run the row-blocked kernels (`l3rs_conv3x3_rows_forward`,
    /// `l3rs_conv3x3_rows_weight_gradient`): 3×3 stride 1 on 1–3 input channels (a first layer), where the
    /// others do 9–27 multiply-adds per output between as many loads and broadcasts (MNIST's 1→32 ran at ≈30% of
    /// the sgemm ceiling). They block output rows of one channel and end a row that is no whole number of
    /// vectors with a vector overlapping the one before, so rows need 8 columns and at most a quarter of the
    /// lanes may go to that overlap (a row of 9 would spend 7 of 16). Their forward writes the same bits as the
    /// pixel-vectorised one; their weight gradient adds in another order.
    public static func usesRowKernels(_ g: ConvolutionGeometry) -> Bool {
        let vectorColumns = (g.outputWidth + 7) / 8 * 8
        return g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && g.channels <= 3 && g.outputWidth >= 8
            && 4 * g.outputWidth >= 3 * vectorColumns
    }

    /// Floats of one weight-gradient accumulator (`accumulateWeightGradient`): dW transposed, or for the
    /// row-blocked kernel dW with each weight's sum in 8 lanes, (out, C, 9, 8).
    public static func weightGradientSumSize(_ g: ConvolutionGeometry, outputChannels: Int) -> Int {
        usesRowKernels(g) ? outputChannels * g.channels * 9 * 8 : transposedWeightSize(g, outputChannels: outputChannels)
    }

    /// Floats of W or dW transposed, (C, 9, roundUp(out, 8)): the weight gradient's accumulator and the
    /// stride-2 forward's weights.
    public static func transposedWeightSize(_ g: ConvolutionGeometry, outputChannels: Int) -> Int {
        g.channels * 9 * ((outputChannels + 7) / 8 * 8)
    }

    /// image (C, H, W) → `padded` (C, paddedPlane), zeros around and after it.
    public static func pad(image: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry) {
        let plane = paddedPlane(g)
        l3rs_conv_pad(image, padded, g.channels, g.height, g.width, g.padding, plane.height, plane.width, g.stride)
    }

    /// y (out, outH, outW) = W ⋆ image + b for one padded image; with `rectify` (row-blocked kernel only) its
    /// ReLU, as the ReLU layer computes it.
    public static func forward(padded: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               into output: UnsafeMutablePointer<Float>, outputChannels: Int, geometry g: ConvolutionGeometry,
                               rectify: Bool = false) {
        precondition(supports(g), "direct convolution: unsupported geometry \(g)")
        precondition(!rectify || usesRowKernels(g), "direct convolution: a fused ReLU needs the row-blocked kernel, not \(g)")
        let plane = paddedPlane(g)
        if usesRowKernels(g) {
            l3rs_conv3x3_rows_forward(padded, weight, bias, output, g.channels, plane.height, plane.width, outputChannels,
                                      g.outputHeight, g.outputWidth, rectify ? 1 : 0)
        } else {
            pixelVectorisedForward(padded: padded, weight: weight, bias: bias, into: output, outputChannels: outputChannels, geometry: g)
        }
    }

    /// `forward` by the pixel-vectorised kernel whatever the channel count (the row-blocked one writes the same bits).
    static func pixelVectorisedForward(padded: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                       into output: UnsafeMutablePointer<Float>, outputChannels: Int, geometry g: ConvolutionGeometry) {
        let plane = paddedPlane(g)
        l3rs_conv_direct_forward(padded, weight, bias, output, g.channels, plane.height, plane.width, outputChannels,
                                 g.kernelWidth, g.outputHeight, g.outputWidth)
    }

    /// Whether `forwardByChannels` handles a geometry (and is expected to beat both the pixel-vectorised direct
    /// forward and im2col + sgemm): 3×3, stride 2, up to 32 input channels (ResNet's 16→32 on 32×32 and
    /// 32→64 on 16×16); 3×3 stride 1 with 17 to 32 input channels where `supports` declines (MNIST's 32→64 on
    /// 14×14, whose rows are no whole vectors). Conv2d asks it before `supports`.
    public static func supportsForwardByChannels(_ g: ConvolutionGeometry) -> Bool {
        guard g.kernelHeight == 3 && g.kernelWidth == 3 && g.channels <= 32 else { return false }
        return g.stride == 2 || g.stride == 1 && !supports(g)
    }

    /// W (out, C, 3, 3) → Wᵀ (C, 9, roundUp(out, 8)) (`transposedWeightSize` floats), once per forward.
    public static func transposeWeight(_ weight: UnsafePointer<Float>, into transposed: UnsafeMutablePointer<Float>,
                                       outputChannels: Int, geometry g: ConvolutionGeometry) {
        l3rs_conv3x3_transpose_weight(weight, transposed, g.channels, outputChannels)
    }

    /// y (out, outH, outW) = W ⋆ image + b for one image padded by `pad`, vectorised over output channels: each
    /// padded input value is broadcast against vectors of Wᵀ (from `transposeWeight`), so the stride-2 taps need
    /// no gather. `scratch` holds `transposedGradientSize` floats (the output transposed, (outH·outW, roundUp(out, 8))).
    public static func forwardByChannels(padded: UnsafePointer<Float>, transposedWeight: UnsafePointer<Float>,
                                         bias: UnsafePointer<Float>?, into output: UnsafeMutablePointer<Float>,
                                         scratch: UnsafeMutablePointer<Float>, outputChannels: Int, geometry g: ConvolutionGeometry) {
        precondition(supportsForwardByChannels(g), "direct forward by output channels: unsupported geometry \(g)")
        let plane = paddedPlane(g)
        l3rs_conv3x3_forward_by_channels(padded, transposedWeight, bias, output, scratch, g.channels, plane.height, plane.width,
                                         outputChannels, g.outputHeight, g.outputWidth, g.stride)
    }

    /// dW += dY ⋆ image and db += Σ dY for one padded image, into `gradWeightSums` (`weightGradientSumSize`
    /// floats) in the kernel's own layout: dW transposed, (C, 9, roundUp(out, 8)), so that the kernel's vectors
    /// run over output channels and need no horizontal sums; for the row-blocked kernel (`usesRowKernels`)
    /// (out, C, 9, 8), each weight's sum in 8 lanes. `foldWeightGradient` adds it into dW once per batch.
    /// `scratch` holds `transposedGradientSize` floats. `rectifiedOutput` (row-blocked kernel only): the image's
    /// output of a `rectify` forward; dY then counts only where it is > 0 (the gradient through the fused ReLU).
    public static func accumulateWeightGradient(
        padded: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, gradWeightSums: UnsafeMutablePointer<Float>,
        gradBias: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>, outputChannels: Int,
        geometry g: ConvolutionGeometry, rectifiedOutput: UnsafePointer<Float>? = nil
    ) {
        precondition(supportsWeightGradient(g), "direct weight gradient: unsupported geometry \(g)")
        precondition(rectifiedOutput == nil || usesRowKernels(g), "direct weight gradient: a fused ReLU needs the row-blocked kernel")
        let plane = paddedPlane(g)
        if usesRowKernels(g) {
            l3rs_conv3x3_rows_weight_gradient(padded, gradOutput, rectifiedOutput, gradWeightSums, gradBias, g.channels,
                                              plane.height, plane.width, outputChannels, g.outputHeight, g.outputWidth)
            return
        }
        l3rs_conv3x3_direct_weight_gradient(padded, gradOutput, gradWeightSums, gradBias, scratch, g.channels,
                                            plane.height, plane.width, outputChannels, g.stride, g.outputHeight,
                                            g.outputWidth)
    }

    /// dW (out, C, 3, 3) += the sums `accumulateWeightGradient` left.
    public static func foldWeightGradient(_ gradWeightSums: UnsafePointer<Float>, into gradWeight: UnsafeMutablePointer<Float>,
                                          outputChannels: Int, geometry g: ConvolutionGeometry) {
        if usesRowKernels(g) {
            l3rs_conv3x3_fold_lane_weight_gradient(gradWeightSums, gradWeight, outputChannels * g.channels * 9)
        } else {
            l3rs_conv3x3_fold_weight_gradient(gradWeightSums, gradWeight, g.channels, outputChannels)
        }
    }

    /// Whether `stride2InputGradient` handles a geometry (and is expected to beat im2col's sgemm + col2im):
    /// 3×3, stride 2, padding 1, up to 32 input channels. A predicate of its own, not `supports`: the parity
    /// kernel reads only dY and W, never the stride-2 padded input whose cost made the direct forward lose on
    /// ResNet's 32→64 (16×16 → 8×8), so there dX runs direct while forward and dW stay on im2col.
    public static func supportsStride2InputGradient(_ g: ConvolutionGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 2 && g.padding == 1 && g.channels <= 32
    }

    /// Rows and row length of one padded dY plane for `stride2InputGradient`: a zero row and column after
    /// dY (the taps of dX's last odd row and column when H or W is even), rows to a whole block of two and
    /// columns to whole vectors plus the shifted load's one.
    public static func stride2GradientPlane(_ g: ConvolutionGeometry) -> (height: Int, width: Int) {
        ((g.outputHeight + 1) / 2 * 2 + 1, (g.outputWidth + 7) / 8 * 8 + 1)
    }

    /// Floats of one padded dY image for `stride2InputGradient`.
    public static func stride2GradientSize(_ g: ConvolutionGeometry, outputChannels: Int) -> Int {
        let plane = stride2GradientPlane(g)
        return outputChannels * plane.height * plane.width
    }

    /// dY (out, outH, outW) → `padded` (out, stride2GradientPlane), zeros after each row and plane.
    public static func padStride2Gradient(_ gradOutput: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>,
                                          outputChannels: Int, geometry g: ConvolutionGeometry) {
        let plane = stride2GradientPlane(g)
        l3rs_conv_pad(gradOutput, padded, outputChannels, g.outputHeight, g.outputWidth, 0, plane.height, plane.width, 1)
    }

    /// dX (C, H, W) of one image from its dY padded by `padStride2Gradient`, overwriting `gradInput`.
    public static func stride2InputGradient(paddedGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                            into gradInput: UnsafeMutablePointer<Float>, outputChannels: Int,
                                            geometry g: ConvolutionGeometry) {
        precondition(supportsStride2InputGradient(g), "direct stride-2 input gradient: unsupported geometry \(g)")
        let plane = stride2GradientPlane(g)
        l3rs_conv3x3_stride2_input_gradient(paddedGradient, weight, gradInput, g.channels, g.height, g.width,
                                            outputChannels, plane.height, plane.width)
    }
}
