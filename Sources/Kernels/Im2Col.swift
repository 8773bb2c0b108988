/// im2col and its adjoint col2im: they turn a convolution into a matrix product.
///
/// The column matrix of one image has shape (C·kh·kw, outH·outW); row r = (c·kh + i)·kw + j holds, for every
/// output position, the input pixel under kernel tap (i, j) of channel c (zero where the tap falls in the
/// padding). That row order matches PyTorch's weight layout (out, in, kh, kw) flattened to (out, in·kh·kw),
/// so `W · columns` is the convolution.
///
/// `rowStride` lets image n write its block of columns into a batch-wide matrix (C·kh·kw, N·outH·outW) at
/// column offset n·outH·outW (rowStride = N·outH·outW): then the whole batch is ONE large sgemm instead of N
/// small ones, which is what keeps small feature maps near the sgemm ceiling.
public enum Im2Col {
    /// Range of output positions along one axis whose tap `offset` lands inside the image (not padding).
    @inlinable
    static func validOutputRange(offset: Int, size: Int, outputSize: Int, stride: Int, padding: Int) -> Range<Int> {
        // input = out·stride − padding + offset must lie in [0, size)
        let shifted = padding - offset
        let lower = shifted <= 0 ? 0 : (shifted + stride - 1) / stride
        let upperInput = size - 1 + padding - offset
        let upper = upperInput < 0 ? 0 : min(outputSize, upperInput / stride + 1)
        return lower < upper ? lower..<upper : lower..<lower
    }

    /// image: (C, H, W) → columns: (C·kh·kw, outH·outW) with rows `rowStride` apart (default: dense).
    /// Writes every element of the (C·kh·kw) × (outH·outW) block.
    public static func expand(
        image: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry,
        rowStride: Int? = nil
    ) {
        let outH = g.outputHeight, outW = g.outputWidth
        let rowStride = rowStride ?? g.columnCount
        precondition(rowStride >= g.columnCount, "im2col: row stride smaller than a row")
        let stride = g.stride, padding = g.padding
        var row = columns
        for channel in 0..<g.channels {
            let plane = image + channel * g.height * g.width
            for ki in 0..<g.kernelHeight {
                let rowsValid = validOutputRange(offset: ki, size: g.height, outputSize: outH, stride: stride, padding: padding)
                for kj in 0..<g.kernelWidth {
                    let colsValid = validOutputRange(offset: kj, size: g.width, outputSize: outW, stride: stride, padding: padding)
                    for oy in 0..<outH {
                        let out = row + oy * outW
                        guard rowsValid.contains(oy), !colsValid.isEmpty else {
                            out.update(repeating: 0, count: outW)
                            continue
                        }
                        let source = plane + (oy * stride - padding + ki) * g.width
                        for ox in 0..<colsValid.lowerBound { out[ox] = 0 }
                        let firstInput = colsValid.lowerBound * stride - padding + kj
                        if stride == 1 {
                            (out + colsValid.lowerBound).update(from: source + firstInput, count: colsValid.count)
                        } else {
                            var input = firstInput
                            for ox in colsValid {
                                out[ox] = source[input]
                                input += stride
                            }
                        }
                        for ox in colsValid.upperBound..<outW { out[ox] = 0 }
                    }
                    row += rowStride
                }
            }
        }
    }

    /// columns: (C·kh·kw, outH·outW) with rows `rowStride` apart → image: (C, H, W), ADDING each column
    /// entry to the pixel it was read from (the adjoint of `expand`). Entries that came from the padding are
    /// dropped. The caller zeroes `image` first when it wants the plain adjoint rather than an accumulation.
    public static func accumulate(
        columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry,
        rowStride: Int? = nil
    ) {
        let outH = g.outputHeight, outW = g.outputWidth
        let rowStride = rowStride ?? g.columnCount
        precondition(rowStride >= g.columnCount, "col2im: row stride smaller than a row")
        let stride = g.stride, padding = g.padding
        var row = columns
        for channel in 0..<g.channels {
            let plane = image + channel * g.height * g.width
            for ki in 0..<g.kernelHeight {
                let rowsValid = validOutputRange(offset: ki, size: g.height, outputSize: outH, stride: stride, padding: padding)
                for kj in 0..<g.kernelWidth {
                    let colsValid = validOutputRange(offset: kj, size: g.width, outputSize: outW, stride: stride, padding: padding)
                    if !colsValid.isEmpty {
                        for oy in rowsValid {
                            let source = row + oy * outW
                            let target = plane + (oy * stride - padding + ki) * g.width
                            let firstInput = colsValid.lowerBound * stride - padding + kj
                            if stride == 1 {
                                // Contiguous on both sides: a vectorisable add of one row segment.
                                let from = source + colsValid.lowerBound, to = target + firstInput
                                for i in 0..<colsValid.count { to[i] += from[i] }
                            } else {
                                var input = firstInput
                                for ox in colsValid {
                                    target[input] += source[ox]
                                    input += stride
                                }
                            }
                        }
                    }
                    row += rowStride
                }
            }
        }
    }
}
