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

    /// One column row of the walk both directions share: kernel tap (ki, kj) of one channel, with the output
    /// rows and columns whose tap lands inside the image (not the padding).
    struct Tap {
        /// Offset of the row in the column matrix (row index · rowStride) and of the channel's plane in the image.
        let row: Int, plane: Int
        let ki: Int, kj: Int
        let validRows: Range<Int>, validColumns: Range<Int>
    }

    /// Calls `body` for the C·kh·kw column rows in order: the row order of the column matrix.
    @inline(__always)
    static func forEachTap(_ g: ConvolutionGeometry, rowStride: Int?, _ body: (Tap) -> Void) {
        let rowStride = rowStride ?? g.columnCount
        precondition(rowStride >= g.columnCount, "im2col/col2im: row stride smaller than a row")
        var row = 0
        for channel in 0..<g.channels {
            for ki in 0..<g.kernelHeight {
                let validRows = validOutputRange(offset: ki, size: g.height, outputSize: g.outputHeight, stride: g.stride,
                                                 padding: g.padding)
                for kj in 0..<g.kernelWidth {
                    let validColumns = validOutputRange(offset: kj, size: g.width, outputSize: g.outputWidth,
                                                        stride: g.stride, padding: g.padding)
                    body(Tap(row: row, plane: channel * g.height * g.width, ki: ki, kj: kj, validRows: validRows,
                             validColumns: validColumns))
                    row += rowStride
                }
            }
        }
    }

    /// image: (C, H, W) → columns: (C·kh·kw, outH·outW) with rows `rowStride` apart (default: dense).
    /// Writes every element of the (C·kh·kw) × (outH·outW) block.
    public static func expand(
        image: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry,
        rowStride: Int? = nil
    ) {
        let outW = g.outputWidth, stride = g.stride, padding = g.padding
        forEachTap(g, rowStride: rowStride) { tap in
            let colsValid = tap.validColumns
            for oy in 0..<g.outputHeight {
                let out = columns + tap.row + oy * outW
                guard tap.validRows.contains(oy), !colsValid.isEmpty else {
                    out.update(repeating: 0, count: outW)
                    continue
                }
                let source = image + tap.plane + (oy * stride - padding + tap.ki) * g.width
                for ox in 0..<colsValid.lowerBound { out[ox] = 0 }
                let firstInput = colsValid.lowerBound * stride - padding + tap.kj
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
        }
    }

    /// columns: (C·kh·kw, outH·outW) with rows `rowStride` apart → image: (C, H, W), ADDING each column
    /// entry to the pixel it was read from (the adjoint of `expand`). Entries that came from the padding are
    /// dropped. The caller zeroes `image` first when it wants the plain adjoint rather than an accumulation.
    public static func accumulate(
        columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry,
        rowStride: Int? = nil
    ) {
        let outW = g.outputWidth, stride = g.stride, padding = g.padding
        forEachTap(g, rowStride: rowStride) { tap in
            let colsValid = tap.validColumns
            guard !colsValid.isEmpty else { return }
            for oy in tap.validRows {
                let source = columns + tap.row + oy * outW
                let target = image + tap.plane + (oy * stride - padding + tap.ki) * g.width
                let firstInput = colsValid.lowerBound * stride - padding + tap.kj
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
    }
}
