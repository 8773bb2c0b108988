import XCTest
@testable import Kernels
@testable import Network

/// Conv2d runs chunks of images as one sgemm over a chunk-wide column matrix; these pin it to a direct
/// per-image convolution and check that the chunk size changes nothing beyond rounding.
final class BatchedConvolutionTests: XCTestCase {
    /// y[n, o, oy, ox] = b[o] + Σ w[o, c, i, j] · x[n, c, oy·s − p + i, ox·s − p + j] (zero outside).
    private func directConvolution(x: Tensor, weight: [Float], bias: [Float], out: Int, kernel: Int, stride: Int, padding: Int) -> [Float] {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        var y = [Float](repeating: 0, count: n * out * oh * ow)
        for b in 0..<n {
            for o in 0..<out {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var total = Double(bias[o])
                        for ch in 0..<c {
                            for i in 0..<kernel {
                                for j in 0..<kernel {
                                    let iy = oy * stride - padding + i, ix = ox * stride - padding + j
                                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                    total += Double(weight[((o * c + ch) * kernel + i) * kernel + j])
                                        * Double(x[((b * c + ch) * h + iy) * w + ix])
                                }
                            }
                        }
                        y[((b * out + o) * oh + oy) * ow + ox] = Float(total)
                    }
                }
            }
        }
        return y
    }

    func testBatchedForwardMatchesDirectConvolution() {
        // rows·P per image: 27·42, 27·12, 27·30 floats; 2000 floats make chunks of one or several images.
        for (stride, padding, chunkFloats) in [(1, 1, 1 << 19), (2, 1, 2000), (1, 0, 2000), (1, 1, 1)] {
            let registry = ParameterRegistry()
            let conv = Conv2d(name: "c", inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: stride, padding: padding,
                              registry: registry)
            conv.chunkFloats = chunkFloats
            conv.allowsDirectKernel = false  // the chunked im2col path (DirectConvolutionTests cover the other)
            registry.allocate()
            let store = registry.parameters
            for i in 0..<store.count { store.values[i] = Float((i * 7) % 13) / 13 - 0.5 }
            let x = TestData.uniform(shape: [5, 3, 6, 7], in: -1, 1, seed: 3)
            let y = conv.forward(x, training: true)
            let expected = directConvolution(x: x, weight: Array(store.values(of: conv.weight)),
                                             bias: Array(store.values(of: conv.bias!)), out: 4, kernel: 3,
                                             stride: stride, padding: padding)
            XCTAssertEqual(y.count, expected.count)
            for i in 0..<expected.count { XCTAssertEqual(y[i], expected[i], accuracy: 1e-5, "stride \(stride) at \(i)") }
        }
    }

    func testChunkedBackwardEqualsOneChunk() {
        func run(chunkFloats: Int) -> (dx: [Float], dw: [Float]) {
            let registry = ParameterRegistry()
            let conv = Conv2d(name: "c", inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 1, padding: 1, registry: registry)
            registry.allocate()
            for i in 0..<registry.parameters.count { registry.parameters.values[i] = Float(i % 5) * 0.1 - 0.2 }
            conv.chunkFloats = chunkFloats
            conv.allowsDirectKernel = false
            let x = TestData.uniform(shape: [5, 2, 4, 4], in: -1, 1, seed: 5)
            let y = conv.forward(x, training: true)
            let dy = TestData.uniform(shape: y.shape, in: -1, 1, seed: 6)
            let dx = conv.backward(dy).values
            return (dx, Array(registry.parameters.gradients))
        }
        let whole = run(chunkFloats: 1 << 20)
        // rows·P = 18·16 = 288 floats per image: 600 gives chunks of 2, 2, 1 images; 1 gives one image each.
        for chunk in [600, 1] {
            let pieces = run(chunkFloats: chunk)
            for i in whole.dx.indices { XCTAssertEqual(pieces.dx[i], whole.dx[i], accuracy: 1e-5, "dx, chunk \(chunk)") }
            // dW sums over the chunks' sgemms, so only the order of the additions differs.
            for i in whole.dw.indices { XCTAssertEqual(pieces.dw[i], whole.dw[i], accuracy: 1e-4, "dW, chunk \(chunk)") }
        }
    }

    /// The unrolled 2×2/2 max-pool keeps PyTorch's first-maximum rule on ties.
    func testMaxPoolTwoByTwoRoutesToFirstMaximum() {
        let pool = MaxPool2d(kernelSize: 2)
        // One plane 2×4: window 1 all equal (first wins), window 2 maximum at the bottom right.
        let x = Tensor(shape: [1, 1, 2, 4], values: [5, 5, 1, 2, 5, 5, 3, 9])
        XCTAssertEqual(pool.forward(x, training: true).values, [5, 9])
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 2], values: [1, 2])).values
        XCTAssertEqual(dx, [1, 0, 0, 0, 0, 0, 0, 2])
    }

    /// The unrolled 3×3/2 padding-1 path (torchvision's stem pool) against a plain scan of each clipped window,
    /// on values drawn from three levels (many ties), odd and even sides, more planes than one pool task holds:
    /// the same maxima and the same winners (each output gradient routed to the first maximum).
    func testMaxPoolThreeByThreeStrideTwoMatchesAPlainScan() {
        var generator = UInt64(12345)
        for side in [1, 2, 5, 8, 9, 16] {
            let planes = MaxPool2d.planesPerTask + 3
            let values: [Float] = (0..<(planes * side * side)).map { _ in
                generator = generator &* 6364136223846793005 &+ 1442695040888963407
                return Float(generator >> 62) - 1
            }
            let x = Tensor(shape: [1, planes, side, side], values: values)
            let out = (side + 2 - 3) / 2 + 1
            var expected = [Float](), expectedDX = [Float](repeating: 0, count: values.count)
            for p in 0..<planes {
                for oy in 0..<out {
                    for ox in 0..<out {
                        var best = -1
                        for row in max(2 * oy - 1, 0)..<min(2 * oy + 2, side) {
                            for column in max(2 * ox - 1, 0)..<min(2 * ox + 2, side) {
                                let i = p * side * side + row * side + column
                                if best < 0 || values[i] > values[best] { best = i }
                            }
                        }
                        expected.append(values[best])
                        expectedDX[best] += Float(expected.count)
                    }
                }
            }
            let pool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
            XCTAssertEqual(pool.forward(x, training: true).values, expected, "side \(side)")
            let dy = Tensor(shape: [1, planes, out, out], values: (1...expected.count).map(Float.init))
            XCTAssertEqual(pool.backward(dy).values, expectedDX, "side \(side)")
        }
    }

    /// The backward hook reports each table index at which all later gradients are final, head first, and
    /// the gradients equal the plain backward's.
    func testBackwardHookReportsFinalEntriesHeadFirst() {
        let model = ModelZoo.resnet(inputShape: [3, 8, 8], blocksPerStage: [1, 1], baseWidth: 4, classCount: 3, seed: 2)
        let x = TestData.uniform(shape: [2, 3, 8, 8], in: -1, 1, seed: 4)
        let loss = SoftmaxCrossEntropy()
        let plain = model.freshGradients(input: x, labels: [0, 2], loss: loss)
        model.parameters.zeroGradients()
        _ = loss.loss(logits: model.forward(x, training: false), labels: [0, 2])
        var reported: [Int] = []
        model.backward(loss.gradient()) { reported.append($0) }
        XCTAssertEqual(Array(model.parameters.gradients), plain)
        XCTAssertEqual(reported.last, 0)
        XCTAssertEqual(reported, reported.sorted(by: >))
        XCTAssertEqual(reported.first, model.parameters.entries.firstIndex { $0.name == "fc.weight" })
    }
}
