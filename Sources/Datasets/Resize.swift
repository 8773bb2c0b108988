/// Bilinear resizing, to fit a dataset to a backbone's input size (28×28 → 16×16 for the USPS network,
/// 8×8 → 28×28 for the UCI digits on the MNIST network).
extension Dataset {
    /// Resizes every channel bilinearly with half-pixel centres and edge clamping, matching PyTorch's
    /// `F.interpolate(mode="bilinear", align_corners=False, antialias=False)`.
    public func resized(height newHeight: Int, width newWidth: Int) throws -> Dataset {
        guard newHeight > 0, newWidth > 0 else { throw DatasetError(file: name, "resize target \(newHeight)×\(newWidth) must be positive") }
        if newHeight == height && newWidth == width { return self }
        let rows = Self.bilinearTaps(from: height, to: newHeight)
        let columns = Self.bilinearTaps(from: width, to: newWidth)
        let planes = count * channels
        var result = [Float](repeating: 0, count: planes * newHeight * newWidth)
        let (oldHeight, oldWidth) = (height, width)
        images.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { output in
                for plane in 0..<planes {
                    let input = source.baseAddress! + plane * oldHeight * oldWidth
                    let target = output.baseAddress! + plane * newHeight * newWidth
                    for y in 0..<newHeight {
                        let row = rows[y]
                        let top = input + row.low * oldWidth, bottom = input + row.high * oldWidth
                        for x in 0..<newWidth {
                            let column = columns[x]
                            let upper = top[column.low] * (1 - column.weight) + top[column.high] * column.weight
                            let lower = bottom[column.low] * (1 - column.weight) + bottom[column.high] * column.weight
                            target[y * newWidth + x] = upper * (1 - row.weight) + lower * row.weight
                        }
                    }
                }
            }
        }
        return replacingImages(result, height: newHeight, width: newWidth)
    }

    /// For each output coordinate: the two input coordinates it lies between and the weight of the second.
    static func bilinearTaps(from inputSize: Int, to outputSize: Int) -> [(low: Int, high: Int, weight: Float)] {
        let scale = Float(inputSize) / Float(outputSize)
        return (0..<outputSize).map { index in
            let position = max((Float(index) + 0.5) * scale - 0.5, 0)
            let low = min(Int(position), inputSize - 1)
            let high = min(low + 1, inputSize - 1)
            return (low, high, position - Float(low))
        }
    }
}
