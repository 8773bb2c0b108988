/// im2col and its adjoint col2im: they turn a convolution into one matrix product per image.
///
/// The column matrix has shape (C·kh·kw, outH·outW); row r = (c·kh + i)·kw + j holds, for every output
/// position, the input pixel under kernel tap (i, j) of channel c (zero where the tap falls in the padding).
/// That row order matches PyTorch's weight layout (out, in, kh, kw) flattened to (out, in·kh·kw), so
/// `W · columns` is the convolution.
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

    /// image: (C, H, W) → columns: (C·kh·kw, outH·outW). Writes every element of `columns`.
    public static func expand(
        image: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry
    ) {
        let outH = g.outputHeight, outW = g.outputWidth
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
                    row += outH * outW
                }
            }
        }
    }

    /// columns: (C·kh·kw, outH·outW) → image: (C, H, W), ADDING each column entry to the pixel it was read
    /// from (the adjoint of `expand`). Entries that came from the padding are dropped. The caller zeroes
    /// `image` first when it wants the plain adjoint rather than an accumulation.
    public static func accumulate(
        columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry
    ) {
        let outH = g.outputHeight, outW = g.outputWidth
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
                            var input = colsValid.lowerBound * stride - padding + kj
                            for ox in colsValid {
                                target[input] += source[ox]
                                input += stride
                            }
                        }
                    }
                    row += outH * outW
                }
            }
        }
    }
}
