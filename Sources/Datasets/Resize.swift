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
        let oldWidth = width
        return mappingPlanes(height: newHeight, width: newWidth) { input, target in
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

    /// A copy of `height`×`width` planes, each filled by `body` from the matching input plane.
    private func mappingPlanes(height newHeight: Int, width newWidth: Int,
                               _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Dataset {
        let planes = count * channels
        var result = [Float](repeating: 0, count: planes * newHeight * newWidth)
        let planeSize = height * width
        images.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { output in
                for plane in 0..<planes {
                    body(source.baseAddress! + plane * planeSize, output.baseAddress! + plane * newHeight * newWidth)
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

extension Dataset {
    /// Averages `factor`×`factor` blocks (a remainder of rows and columns past the last whole block is
    /// dropped). Before a bilinear resize that shrinks by more than 2, this keeps every input pixel's
    /// contribution, as an antialiased resize does, instead of sampling a few pixels and aliasing.
    public func reducedByAveraging(factor: Int) throws -> Dataset {
        guard factor >= 1, factor <= height, factor <= width else {
            throw DatasetError(file: name, "averaging factor \(factor) must be in 1...\(min(height, width))")
        }
        if factor == 1 { return self }
        let (newHeight, newWidth) = (height / factor, width / factor)
        let oldWidth = width
        let scale = 1 / Float(factor * factor)
        return mappingPlanes(height: newHeight, width: newWidth) { input, target in
            for y in 0..<newHeight {
                for x in 0..<newWidth {
                    var sum: Float = 0
                    for dy in 0..<factor {
                        let row = input + (y * factor + dy) * oldWidth + x * factor
                        for dx in 0..<factor { sum += row[dx] }
                    }
                    target[y * newWidth + x] = sum * scale
                }
            }
        }
    }
}
