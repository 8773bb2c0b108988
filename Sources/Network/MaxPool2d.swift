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
            let geometry = Window(kernelSize: kernelSize, stride: stride, padding: padding, height: height, width: width)
            if kernelSize == 3 && stride == 2 && padding == 1 {
                // torchvision's stem pool: windows inside the image unrolled (nine loads, eight compares in scan
                // order, so the same winner as the general loop); the border ones by the general loop.
                WorkerPool.shared.run(count: planes, chunk: Self.planesPerTask) { planeRange, _ in
                for p in planeRange {
                    let plane = x.pointer + p * height * width
                    for oy in 0..<outH {
                        let top = 2 * oy - 1, o = (p * outH + oy) * outW
                        let rowsInside = top >= 0 && top + 3 <= height
                        for ox in 0..<outW {
                            let left = 2 * ox - 1
                            guard rowsInside && left >= 0 && left + 3 <= width else {
                                let best = geometry.winner(in: plane, oy: oy, ox: ox)
                                target[o + ox] = plane[best]
                                winner[o + ox] = Int32(best)
                                continue
                            }
                            let r0 = top * width + left, r1 = r0 + width, r2 = r1 + width
                            var best = r0, value = plane[r0]
                            if plane[r0 + 1] > value { best = r0 + 1; value = plane[best] }
                            if plane[r0 + 2] > value { best = r0 + 2; value = plane[best] }
                            if plane[r1] > value { best = r1; value = plane[best] }
                            if plane[r1 + 1] > value { best = r1 + 1; value = plane[best] }
                            if plane[r1 + 2] > value { best = r1 + 2; value = plane[best] }
                            if plane[r2] > value { best = r2; value = plane[best] }
                            if plane[r2 + 1] > value { best = r2 + 1; value = plane[best] }
                            if plane[r2 + 2] > value { best = r2 + 2; value = plane[best] }
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
                    for ox in 0..<outW {
                        let best = geometry.winner(in: plane, oy: oy, ox: ox)
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

    /// One plane's pooling windows.
    struct Window {
        let kernelSize: Int, stride: Int, padding: Int, height: Int, width: Int

        /// The index in its plane of output (oy, ox)'s maximum: the window's rows and columns clipped to the
        /// image (the padding never wins), scanned row by row with strict `>`, so the first maximum wins.
        @inline(__always)
        func winner(in plane: UnsafePointer<Float>, oy: Int, ox: Int) -> Int {
            let top = oy * stride - padding, left = ox * stride - padding
            let rows = max(top, 0)..<min(top + kernelSize, height)
            let columns = max(left, 0)..<min(left + kernelSize, width)
            var best = rows.lowerBound * width + columns.lowerBound
            for row in rows {
                for column in columns where plane[row * width + column] > plane[best] { best = row * width + column }
            }
            return best
        }
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
