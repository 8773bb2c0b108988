import Kernels

/// Max pooling over kernel×kernel windows (PyTorch's MaxPool2d, floor mode). Padding, as in PyTorch, is
/// implicit −∞: a window that reaches past the border takes the max of the positions inside it (torchvision's
/// ResNet stem pools 3×3, stride 2, padding 1). Backward routes each output gradient to the input element
/// that won the max (the first one on ties, like PyTorch). Both passes run on `WorkerPool.shared`, a block of
/// planes per task.
public final class MaxPool2d: Layer {
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int

    private var winners: [Int32] = []
    /// Planes per pool task: enough work to outweigh claiming it.
    static let planesPerTask = 32
    private var buffers = LayerBuffers(layerName: "MaxPool2d")

    /// PyTorch's rule: padding at most half the kernel, so every window holds at least one input position.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        precondition(kernelSize > 0 && (stride ?? kernelSize) > 0 && padding >= 0 && 2 * padding <= kernelSize)
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, C, outH, outW); winners hold the index of each max within its (H, W) plane.
        precondition(x.shape.count == 4 && x.shape[2] + 2 * padding >= kernelSize && x.shape[3] + 2 * padding >= kernelSize,
                     "MaxPool2d: bad input \(x.shape)")
        let planes = x.shape[0] * x.shape[1], height = x.shape[2], width = x.shape[3]
        let outH = (height + 2 * padding - kernelSize) / stride + 1, outW = (width + 2 * padding - kernelSize) / stride + 1
        let y = buffers.output(for: x, shape: [x.shape[0], x.shape[1], outH, outW])
        if winners.count != y.count { winners = [Int32](repeating: 0, count: y.count) }
        let kernelSize = kernelSize, stride = stride, padding = padding
        winners.withUnsafeMutableBufferPointer { winner in
            let target = y.pointer, winner = winner.baseAddress!
            if kernelSize == 2 && stride == 2 && padding == 0 {
                // The common 2×2/2 window unrolled: four loads and three compares per output, no inner loops.
                // Scan order (row, then column) with strict `>` keeps the first maximum, as below.
                WorkerPool.shared.run(count: planes, chunk: Self.planesPerTask) { planeRange, _ in
                for p in planeRange {
                    let plane = x.pointer + p * height * width
                    for oy in 0..<outH {
                        let top = 2 * oy * width
                        let o = (p * outH + oy) * outW
                        for ox in 0..<outW {
                            let i = top + 2 * ox
                            var best = i, value = plane[i]
                            if plane[i + 1] > value { best = i + 1; value = plane[i + 1] }
                            if plane[i + width] > value { best = i + width; value = plane[i + width] }
                            if plane[i + width + 1] > value { best = i + width + 1; value = plane[i + width + 1] }
                            target[o + ox] = value
                            winner[o + ox] = Int32(best)
                        }
                    }
                }
                }
                return
            }
            WorkerPool.shared.run(count: planes, chunk: Self.planesPerTask) { planeRange, _ in
            for p in planeRange {
                let plane = x.pointer + p * height * width
                for oy in 0..<outH {
                    // The window's rows and columns clipped to the image (the padding never wins).
                    let top = oy * stride - padding
                    let rows = max(top, 0)..<min(top + kernelSize, height)
                    for ox in 0..<outW {
                        let left = ox * stride - padding
                        let columns = max(left, 0)..<min(left + kernelSize, width)
                        var best = rows.lowerBound * width + columns.lowerBound
                        for row in rows {
                            for column in columns where plane[row * width + column] > plane[best] { best = row * width + column }
                        }
                        let o = (p * outH + oy) * outW + ox
                        target[o] = plane[best]
                        winner[o] = Int32(best)
                    }
                }
            }
            }
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (y, dx) = buffers.gradInput(for: gradOutput)
        let inputShape = buffers.inputShape
        let planeSize = inputShape[2] * inputShape[3]
        let outPlane = y.shape[2] * y.shape[3]
        let target = dx.pointer, source = gradOutput.pointer
        winners.withUnsafeBufferPointer { winner in
            WorkerPool.shared.run(count: y.count / max(1, outPlane), chunk: Self.planesPerTask) { planes, _ in
                // Each task zeroes its own planes of dx first (a serial fill was 40% of this pass).
                (target + planes.lowerBound * planeSize).update(repeating: 0, count: planes.count * planeSize)
                for plane in planes {
                    let input = target + plane * planeSize, first = plane * outPlane
                    for o in first..<(first + outPlane) { input[Int(winner[o])] += source[o] }
                }
            }
        }
        return dx
    }
}
