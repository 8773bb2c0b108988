import XCTest
@testable import Kernels
@testable import Network

/// The direct few-channel convolution against the im2col path, its finite-difference gradients, and the
/// model's parameter-gradient-only backward against the full one.
final class DirectConvolutionTests: XCTestCase {
    private func makeConv(channels: Int, out: Int, padding: Int, direct: Bool, bias: Bool = true, stride: Int = 1) -> (Conv2d, ParameterStore) {
        let registry = ParameterRegistry()
        let conv = Conv2d(name: "c", inputChannels: channels, outputChannels: out, kernelSize: 3, stride: stride,
                          padding: padding, bias: bias, registry: registry)
        conv.allowsDirectKernel = direct
        registry.allocate()
        let store = registry.parameters
        for i in 0..<store.count { store.values[i] = Float((i * 7) % 13) / 13 - 0.5 }
        return (conv, store)
    }

    /// Forward, weight, bias and input gradients of both paths agree to rounding, on shapes that exercise
    /// whole 32-wide output blocks, partial ones, more than one block per row, an odd channel count, no
    /// padding (input gradient padded by 2), more than 16 output channels (input gradient by im2col), and
    /// up to 64 input channels on rows of whole vectors (blocks spanning rows, a partial last block). The
    /// weight gradient runs over output channels, 24 at a time, then 16 or 8, zero-padded to whole vectors: 53
    /// and 40 output channels end in a partial 8 and a 16.
    func testDirectPathEqualsIm2ColPath() {
        let shapes: [(channels: Int, out: Int, height: Int, width: Int, padding: Int, bias: Bool)] = [
            (1, 32, 28, 28, 1, true), (3, 16, 32, 32, 1, true), (2, 3, 5, 37, 0, false), (3, 5, 6, 7, 1, true), (1, 1, 3, 70, 1, true),
            (16, 16, 8, 9, 1, true), (16, 24, 5, 6, 1, false),
            (32, 20, 6, 16, 1, true), (64, 64, 8, 8, 1, true), (40, 8, 7, 10, 0, false),
            (16, 53, 8, 8, 1, true), (64, 40, 8, 8, 1, false),
        ]
        assertDirectPathEqualsIm2ColPath(shapes, stride: 1)
    }

    /// The same for stride 2 (input gradient by parity classes with padding 1, by im2col without): ResNet's
    /// 16→32 on 32×32, 16 channels on 16×16 (an 8-wide output), odd heights and widths (even half one longer
    /// than the odd one; dX rows and columns ending on an even or an odd index), 32-wide blocks with a partial
    /// one, an odd channel count, 3 channels to 32, no padding; and with more than 16 channels ResNet's 32→64
    /// on 16×16, 24 → 5 on 9×7 and 20 → 6 without padding (dX on im2col); 45 output channels (the weight
    /// gradient's 24 and a partial 24). The forward runs by output channels (`forwardByChannels`) on all of them:
    /// blocks of 24, 16 (32 as two) and 8 channels, 4, 6 or 12 pixels; 13, 40, 56 and 9 output channels and
    /// 35, 18, 4 and 56 pixels end in partial channel vectors, pixel blocks and 8×8 transposes.
    func testStride2DirectPathEqualsIm2ColPath() {
        let shapes: [(channels: Int, out: Int, height: Int, width: Int, padding: Int, bias: Bool)] = [
            (16, 32, 32, 32, 1, false), (16, 64, 16, 16, 1, false), (3, 5, 7, 9, 1, true), (1, 4, 5, 133, 1, true),
            (2, 3, 6, 37, 0, false), (16, 7, 9, 8, 1, true), (12, 6, 5, 16, 1, true), (5, 2, 3, 3, 1, true),
            (3, 32, 32, 32, 1, true), (16, 32, 31, 33, 1, false), (3, 8, 2, 17, 1, true), (16, 3, 18, 1, 1, true),
            (32, 64, 16, 16, 1, false), (24, 5, 9, 7, 1, true), (20, 6, 9, 11, 0, true), (16, 45, 9, 10, 1, true),
            (32, 13, 13, 9, 1, true), (8, 40, 11, 5, 1, false), (32, 56, 5, 5, 0, true), (17, 9, 15, 13, 1, true),
        ]
        for shape in shapes {
            let g = ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width,
                                        kernelHeight: 3, kernelWidth: 3, stride: 2, padding: shape.padding)
            XCTAssertTrue(DirectConvolution.supportsForwardByChannels(g), "\(shape)")
        }
        for shape in shapes where shape.padding == 1 {
            let g = ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width,
                                        kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1)
            XCTAssertTrue(DirectConvolution.supportsStride2InputGradient(g), "\(shape)")
        }
        assertDirectPathEqualsIm2ColPath(shapes, stride: 2)
    }

    /// Stride 1 by output channels where the pixel-vectorised kernel declines (17 to 32 input channels, rows of
    /// no whole vectors): MNIST's 32→64 on 14×14, partial channel vectors (13, 9), a 24-block (40), no padding,
    /// partial pixel blocks and 8×8 transposes. Backward stays on im2col.
    func testStride1ForwardByChannelsEqualsIm2ColPath() {
        let shapes: [(channels: Int, out: Int, height: Int, width: Int, padding: Int, bias: Bool)] = [
            (32, 64, 14, 14, 1, true), (17, 13, 9, 11, 1, false), (24, 40, 7, 5, 0, true), (32, 9, 6, 13, 1, true),
        ]
        for shape in shapes {
            let g = ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width,
                                        kernelHeight: 3, kernelWidth: 3, stride: 1, padding: shape.padding)
            XCTAssertTrue(DirectConvolution.supportsForwardByChannels(g), "\(shape)")
            XCTAssertFalse(DirectConvolution.supports(g), "\(shape)")
        }
        assertDirectPathEqualsIm2ColPath(shapes, stride: 1)
    }

    /// The row-blocked kernels of a first layer (1–3 input channels, `usesRowKernels`) against im2col: MNIST's
    /// 1→32 on 28×28 and ResNet's 3→16 on 32×32, rows ending in a vector that overlaps the one before (13, 12,
    /// 22, 30 and 28 wide; the weight gradient must count those lanes once), one vector (8), an odd number of
    /// vectors (24: a pair and a single), heights that leave 1 or 2 rows after the 3-row blocks, no padding,
    /// no bias. Forward tolerance as elsewhere; the forward also writes the same bits as the pixel-vectorised
    /// kernel (same order of the same FMAs), checked on the raw kernels.
    func testRowKernelsEqualIm2ColPath() {
        let shapes: [(channels: Int, out: Int, height: Int, width: Int, padding: Int, bias: Bool)] = [
            (1, 32, 28, 28, 1, true), (3, 16, 32, 32, 1, true), (1, 5, 13, 13, 1, true), (2, 7, 9, 14, 0, false),
            (3, 3, 4, 22, 1, true), (1, 1, 3, 8, 1, true), (2, 9, 17, 30, 1, true), (3, 4, 5, 24, 1, false),
        ]
        for shape in shapes {
            let g = ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width,
                                        kernelHeight: 3, kernelWidth: 3, stride: 1, padding: shape.padding)
            XCTAssertTrue(DirectConvolution.usesRowKernels(g), "\(shape)")
            // Same bits as the pixel-vectorised forward on the same padded image.
            let image = TestData.uniform(shape: [g.imageSize], in: -1, 1, seed: 13)
            let weight = TestData.uniform(shape: [shape.out * g.channels * 9], in: -1, 1, seed: 14)
            let bias = TestData.uniform(shape: [shape.out], in: -1, 1, seed: 15)
            let padded = Tensor(shape: [DirectConvolution.paddedSize(g)])
            DirectConvolution.pad(image: image.pointer, into: padded.pointer, geometry: g)
            let rows = Tensor(shape: [shape.out * g.columnCount]), pixels = Tensor(shape: [shape.out * g.columnCount])
            DirectConvolution.forward(padded: padded.pointer, weight: weight.pointer, bias: bias.pointer, into: rows.pointer,
                                      outputChannels: shape.out, geometry: g)
            DirectConvolution.pixelVectorisedForward(padded: padded.pointer, weight: weight.pointer, bias: bias.pointer,
                                                     into: pixels.pointer, outputChannels: shape.out, geometry: g)
            XCTAssertEqual(rows.values.map(\.bitPattern), pixels.values.map(\.bitPattern), "\(shape)")
        }
        for (channels, width) in [(1, 9), (4, 28), (1, 7)] {
            let g = ConvolutionGeometry(channels: channels, height: 8, width: width, kernelHeight: 3, kernelWidth: 3,
                                        stride: 1, padding: 1)
            XCTAssertFalse(DirectConvolution.usesRowKernels(g), "\(channels) channels, \(width) wide")
        }
        assertDirectPathEqualsIm2ColPath(shapes, stride: 1)
    }

    private func assertDirectPathEqualsIm2ColPath(
        _ shapes: [(channels: Int, out: Int, height: Int, width: Int, padding: Int, bias: Bool)], stride: Int
    ) {
        for shape in shapes {
            let (direct, directStore) = makeConv(channels: shape.channels, out: shape.out, padding: shape.padding, direct: true,
                                                 bias: shape.bias, stride: stride)
            let (columns, columnStore) = makeConv(channels: shape.channels, out: shape.out, padding: shape.padding, direct: false,
                                                  bias: shape.bias, stride: stride)
            let x = TestData.uniform(shape: [3, shape.channels, shape.height, shape.width], in: -1, 1, seed: 11)
            let g = ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width,
                                        kernelHeight: 3, kernelWidth: 3, stride: stride, padding: shape.padding)
            XCTAssertTrue(DirectConvolution.supportsWeightGradient(g) || DirectConvolution.supportsStride2InputGradient(g)
                          || DirectConvolution.supportsForwardByChannels(g), "\(shape)")
            let y = direct.forward(x, training: true).values, expected = columns.forward(x, training: true).values
            XCTAssertEqual(y.count, expected.count)
            // Float sums of up to 576 products in another order: relative to the value's size.
            for i in 0..<y.count { XCTAssertEqual(y[i], expected[i], accuracy: 1e-5 * max(1, abs(expected[i])), "\(shape) output \(i)") }
            let dy = TestData.uniform(shape: direct.forward(x, training: true).shape, in: -1, 1, seed: 12)
            _ = columns.forward(x, training: true)
            let dx = direct.backward(dy).values, expectedDx = columns.backward(dy).values
            for i in 0..<dx.count { XCTAssertEqual(dx[i], expectedDx[i], accuracy: 1e-5 * max(1, abs(expectedDx[i])), "\(shape) dx \(i)") }
            let dw = Array(directStore.gradients), expectedDw = Array(columnStore.gradients)
            XCTAssertEqual(dw.count, expectedDw.count)
            for i in 0..<dw.count {
                XCTAssertEqual(dw[i], expectedDw[i], accuracy: 1e-4 * max(1, abs(expectedDw[i])), "\(shape) parameter gradient \(i)")
            }
        }
    }

    func testDirectPathFiniteDifferenceGradients() {
        // (in, out, padding, height, width, stride)
        let cases = [
            (1, 3, 1, 6, 9, 1), (3, 3, 0, 6, 9, 1), (16, 3, 1, 6, 9, 1), (24, 3, 1, 6, 8, 1), (3, 3, 1, 6, 9, 2), (16, 3, 1, 6, 16, 2),
            (3, 3, 1, 7, 5, 2),
            (20, 3, 1, 5, 6, 2),  // forward by output channels with 20 input channels
            (5, 11, 0, 7, 6, 2),  // the same without padding (dX on im2col)
            (4, 29, 1, 5, 8, 1), (2, 43, 1, 6, 5, 2),  // the weight gradient's 24 output channels and a partial 24
            (20, 7, 1, 5, 6, 1), (17, 11, 0, 6, 9, 1),  // stride-1 forward by output channels
            (1, 4, 1, 7, 13, 1), (3, 5, 0, 8, 14, 1), (2, 3, 1, 4, 8, 1),  // row-blocked first-layer kernels
        ]
        for (channels, out, padding, height, width, stride) in cases {
            let (conv, store) = makeConv(channels: channels, out: out, padding: padding, direct: true, stride: stride)
            TestData.randomize(store, seed: 5)
            let x = TestData.uniform(shape: [2, channels, height, width], in: -1, 1, seed: 6)
            assertGradientsMatch(GradientCheck.layerResults(conv, input: x, training: true, parameters: store), tolerance: 2e-2,
                                 "\(channels) → \(out) channels, padding \(padding), stride \(stride)")
        }
    }

    /// A conv followed by a ReLU row fuses it (`Conv2d.fusesReLU`, the ReLU passing through): logits, dX and every
    /// parameter gradient (full backward, and parameters only, where the row-blocked weight gradient masks dY
    /// itself) are bit-identical to the separate ReLU layer's. ccexam-mnist (1→32 row-blocked, 32→64 by output
    /// channels: rectified and masked by passes; 37 images: three weight-gradient groups), a 3-channel first
    /// layer on 8×8 (row-blocked) and a 2-channel one on 7×7 (too narrow: pixel-vectorised, masked by a pass).
    func testFusedReLUIsBitIdenticalToTheReLULayer() {
        let small: (Int, Int) -> [LayerSpec] = { channels, side in
            let pooled = side / 2
            return [.conv(name: "c", inputChannels: channels, outputChannels: 5, kernelSize: 3, padding: 1), .relu,
                    .maxPool(kernelSize: 2), .flatten, .linear(name: "l", inputFeatures: 5 * pooled * pooled, outputFeatures: 3)]
        }
        let cases: [(make: () -> Model, shape: [Int], batch: Int)] = [
            ({ ModelZoo.ccexamMNIST(seed: 3) }, [1, 28, 28], 37),
            ({ Model(name: "rgb", table: small(3, 8), inputShape: [3, 8, 8], classCount: 3, seed: 4) }, [3, 8, 8], 5),
            ({ Model(name: "narrow", table: small(2, 7), inputShape: [2, 7, 7], classCount: 3, seed: 5) }, [2, 7, 7], 5),
        ]
        for (make, shape, batch) in cases {
            let fused = make(), separate = make()
            let fusedConvs = fused.layers.compactMap { $0 as? Conv2d }.filter(\.fusesReLU)
            XCTAssertEqual(fusedConvs.count, fused.name == "ccexam-mnist" ? 2 : 1, fused.name)
            for layer in separate.layers {
                (layer as? Conv2d)?.fusesReLU = false
                (layer as? ReLU)?.passesThrough = false
            }
            let x = TestData.uniform(shape: [batch] + shape, in: -1, 1, seed: 9)
            let labels = (0..<batch).map { $0 % 3 }
            var bits: [[[UInt32]]] = []
            for model in [fused, separate] {
                let loss = SoftmaxCrossEntropy()
                model.parameters.zeroGradients()
                let logits = model.forward(x, training: true).values
                _ = loss.loss(logits: model.forward(x, training: true), labels: labels)
                let dx = model.backward(loss.gradient()).values
                let full = Array(model.parameters.gradients)
                model.parameters.zeroGradients()
                _ = loss.loss(logits: model.forward(x, training: true), labels: labels)
                model.accumulateParameterGradients(loss.gradient())
                let parametersOnly = Array(model.parameters.gradients)
                XCTAssertTrue(full.contains { $0 != 0 }, model.name)
                bits.append([logits, dx, full, parametersOnly].map { $0.map(\.bitPattern) })
            }
            for (index, part) in ["logits", "dX", "full backward gradients", "parameter-only gradients"].enumerated() {
                let differing = zip(bits[0][index], bits[1][index]).filter { $0.0 != $0.1 }.count
                XCTAssertEqual(bits[0][index].count, bits[1][index].count, "\(fused.name) \(part)")
                XCTAssertEqual(differing, 0, "\(fused.name): \(differing) of the \(part) differ")
            }
        }
    }

    /// Finite differences through a conv with its ReLU fused (row-blocked: 1 → 4 on 7×13; pixel-vectorised: 2 → 3
    /// on 5×6), input and parameters.
    func testFusedReLUFiniteDifferenceGradients() {
        for (channels, out, height, width) in [(1, 4, 7, 13), (2, 3, 5, 6)] {
            let (conv, store) = makeConv(channels: channels, out: out, padding: 1, direct: true)
            conv.fusesReLU = true
            TestData.randomize(store, seed: 5)
            let x = TestData.uniform(shape: [2, channels, height, width], in: -1, 1, seed: 6)
            assertGradientsMatch(GradientCheck.layerResults(conv, input: x, training: true, parameters: store, epsilon: 1e-3),
                                 tolerance: 2e-2, "fused ReLU, \(channels) → \(out) channels")
        }
    }

    /// Skipping the input gradient (first layer a direct conv, an im2col conv, or a Flatten before a Linear)
    /// leaves every parameter gradient bit-identical and reports the same final entries.
    func testParameterGradientsIdenticalWithoutInputGradient() {
        let usps = ModelZoo.ccexamUSPS(seed: 3)
        let im2colUSPS = ModelZoo.ccexamUSPS(seed: 3)
        for case let conv as Conv2d in im2colUSPS.layers { conv.allowsDirectKernel = false }
        let cases: [(Model, [Int])] = [
            (usps, [1, 16, 16]), (im2colUSPS, [1, 16, 16]),
            (ModelZoo.mlp(inputShape: [1, 6, 6], hiddenWidths: [8], classCount: 3, seed: 4), [1, 6, 6]),
            (ModelZoo.resnet(inputShape: [3, 8, 8], blocksPerStage: [1, 1], baseWidth: 4, classCount: 3, seed: 2), [3, 8, 8]),
        ]
        for (model, shape) in cases {
            let x = TestData.uniform(shape: [4] + shape, in: -1, 1, seed: 9)
            let labels = [0, 2, 1, 2]
            let loss = SoftmaxCrossEntropy()
            model.parameters.zeroGradients()
            model.reseedStochasticLayers(seed: 5)  // the same dropout masks in both passes
            _ = loss.loss(logits: model.forward(x, training: true), labels: labels)
            var fullReported: [Int] = []
            model.backward(loss.gradient()) { fullReported.append($0) }
            let full = Array(model.parameters.gradients)
            model.parameters.zeroGradients()
            model.reseedStochasticLayers(seed: 5)
            _ = loss.loss(logits: model.forward(x, training: true), labels: labels)
            var reported: [Int] = []
            model.accumulateParameterGradients(loss.gradient()) { reported.append($0) }
            let skipped = Array(model.parameters.gradients)
            XCTAssertEqual(skipped.count, full.count)
            let differing = zip(skipped, full).filter { $0.0 != $0.1 }.count
            XCTAssertEqual(differing, 0, "\(model.name): \(differing) parameter gradients differ")
            XCTAssertEqual(reported, fullReported, model.name)
            XCTAssertEqual(reported.last, 0, model.name)
            XCTAssertTrue(full.contains { $0 != 0 }, model.name)
        }
    }
}
