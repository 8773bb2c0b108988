import Seeding
import XCTest
@testable import Network

/// Forward passes on cases small enough to compute by hand.
final class ForwardReferenceTests: XCTestCase {
    private func assertValues(_ tensor: Tensor, _ expected: [Float], accuracy: Float = 1e-5,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(tensor.count, expected.count, "count", file: file, line: line)
        for (index, (actual, wanted)) in zip(tensor.values, expected).enumerated() {
            XCTAssertEqual(actual, wanted, accuracy: accuracy, "element \(index)", file: file, line: line)
        }
    }

    private func set(_ store: ParameterStore, _ name: String, _ values: [Float]) {
        let target = store.values(of: store.entry(named: name)!)
        XCTAssertEqual(target.count, values.count, name)
        for i in 0..<values.count { target[i] = values[i] }
    }

    func testConv2dDiagonalKernelNoPadding() {
        let registry = ParameterRegistry()
        let conv = Conv2d(name: "c", inputChannels: 1, outputChannels: 1, kernelSize: 2, registry: registry)
        registry.allocate()
        set(registry.parameters, "c.weight", [1, 0, 0, 1])
        set(registry.parameters, "c.bias", [0.5])
        // x = [[1 2 3] [4 5 6] [7 8 9]]: each output is top-left + bottom-right of its 2×2 window, + 0.5.
        let y = conv.forward(Tensor(shape: [1, 1, 3, 3], values: (1...9).map(Float.init)), training: false)
        XCTAssertEqual(y.shape, [1, 1, 2, 2])
        assertValues(y, [6.5, 8.5, 12.5, 14.5])
    }

    func testConv2dOnesKernelPaddedStrided() {
        let registry = ParameterRegistry()
        let conv = Conv2d(name: "c", inputChannels: 1, outputChannels: 1, kernelSize: 3, stride: 2, padding: 1,
                          bias: false, registry: registry)
        registry.allocate()
        set(registry.parameters, "c.weight", [Float](repeating: 1, count: 9))
        // Windows centred on (0,0), (0,2), (2,0), (2,2) of the padded 3×3 image 1…9.
        let y = conv.forward(Tensor(shape: [1, 1, 3, 3], values: (1...9).map(Float.init)), training: false)
        XCTAssertEqual(y.shape, [1, 1, 2, 2])
        assertValues(y, [12, 16, 24, 28])
    }

    func testConv2dMixesChannelsWithPyTorchWeightLayout() {
        let registry = ParameterRegistry()
        let conv = Conv2d(name: "c", inputChannels: 2, outputChannels: 2, kernelSize: 1, registry: registry)
        registry.allocate()
        // weight (out=2, in=2, 1, 1): out0 = 1·in0 + 2·in1 + 1, out1 = −1·in0 + 0·in1 + 0.
        set(registry.parameters, "c.weight", [1, 2, -1, 0])
        set(registry.parameters, "c.bias", [1, 0])
        let y = conv.forward(Tensor(shape: [1, 2, 1, 2], values: [1, 2, 10, 20]), training: false)
        assertValues(y, [22, 43, -1, -2])
    }

    func testLinearUsesPyTorchLayout() {
        let registry = ParameterRegistry()
        let linear = Linear(name: "fc", inputFeatures: 3, outputFeatures: 2, registry: registry)
        registry.allocate()
        set(registry.parameters, "fc.weight", [1, 2, 3, 4, 5, 6])   // (out, in)
        set(registry.parameters, "fc.bias", [0.5, -1])
        let y = linear.forward(Tensor(shape: [2, 3], values: [1, 0, -1, 2, 1, 0]), training: false)
        assertValues(y, [-1.5, -3, 4.5, 12])
    }

    func testPooling() {
        let x = Tensor(shape: [1, 1, 4, 4], values: (0..<16).map(Float.init))
        assertValues(MaxPool2d(kernelSize: 2).forward(x, training: false), [5, 7, 13, 15])
        assertValues(AvgPool2d(kernelSize: 2).forward(x, training: false), [2.5, 4.5, 10.5, 12.5])
        assertValues(MaxPool2d(kernelSize: 3, stride: 1).forward(x, training: false), [10, 11, 14, 15])
        // 3×3, stride 2, padding 1 (torchvision's stem) on 4×4: windows centred on rows/columns 0 and 2; the
        // implicit padding is −∞, so a negative plane still pools to its own values, not to 0.
        let negative = Tensor(shape: [1, 1, 4, 4], values: (0..<16).map { -Float($0) - 1 })
        let padded = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
        assertValues(padded.forward(x, training: false), [5, 7, 13, 15])
        assertValues(padded.forward(negative, training: false), [-1, -2, -5, -6])
        let odd = Tensor(shape: [1, 1, 5, 5], values: (0..<25).map(Float.init))
        XCTAssertEqual(MaxPool2d(kernelSize: 2).forward(odd, training: false).shape, [1, 1, 2, 2], "floor mode")
        let global = GlobalAvgPool().forward(Tensor(shape: [1, 2, 1, 2], values: [1, 2, 3, 5]), training: false)
        XCTAssertEqual(global.shape, [1, 2])
        assertValues(global, [1.5, 4])
    }

    func testActivations() {
        let x = Tensor(shape: [4], values: [-1, 0, 1, 2])
        assertValues(ReLU().forward(x, training: false), [0, 0, 1, 2])
        // Exact GELU: x·Φ(x); Φ(1) = 0.8413447.
        assertValues(GELU().forward(x, training: false), [-0.1586553, 0, 0.8413447, 1.9544997])
        assertValues(Tanh().forward(x, training: false), [-0.7615942, 0, 0.7615942, 0.9640276])
    }

    func testBatchNormTrainingStatisticsAndRunningUpdate() {
        let registry = ParameterRegistry()
        let bn = BatchNorm2d(name: "bn", channels: 1, registry: registry)
        registry.allocate()
        var generator = SplitMix64(seed: 0)
        ParameterInitializer.initialize(registry.parameters.entries, in: registry.parameters, using: &generator)
        ParameterInitializer.initialize(registry.buffers.entries, in: registry.buffers, using: &generator)
        // Four values 1…4: mean 2.5, biased variance 1.25, unbiased 5/3.
        let y = bn.forward(Tensor(shape: [4, 1, 1, 1], values: [1, 2, 3, 4]), training: true)
        let invStd = 1 / (1.25 + 1e-5 as Float).squareRoot()
        assertValues(y, [-1.5 * invStd, -0.5 * invStd, 0.5 * invStd, 1.5 * invStd])
        let buffers = registry.buffers
        XCTAssertEqual(buffers.values(of: buffers.entry(named: "bn.running_mean")!)[0], 0.25, accuracy: 1e-6)
        XCTAssertEqual(buffers.values(of: buffers.entry(named: "bn.running_var")!)[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-6)
        XCTAssertEqual(buffers.values(of: buffers.entry(named: "bn.num_batches_tracked")!)[0], 1)
        // Inference uses the running statistics and leaves them alone.
        let z = bn.forward(Tensor(shape: [1, 1, 1, 1], values: [0.25]), training: false)
        XCTAssertEqual(z[0], 0, accuracy: 1e-6)
        XCTAssertEqual(buffers.values(of: buffers.entry(named: "bn.num_batches_tracked")!)[0], 1)
    }

    func testLayerNormNormalisesEachRow() {
        let registry = ParameterRegistry()
        let ln = LayerNorm(name: "ln", normalizedShape: [4], registry: registry)
        registry.allocate()
        var generator = SplitMix64(seed: 0)
        ParameterInitializer.initialize(registry.parameters.entries, in: registry.parameters, using: &generator)
        let y = ln.forward(Tensor(shape: [2, 4], values: [1, 2, 3, 4, 10, 10, 10, 10]), training: false)
        let invStd = 1 / (1.25 + 1e-5 as Float).squareRoot()
        assertValues(y, [-1.5 * invStd, -0.5 * invStd, 0.5 * invStd, 1.5 * invStd, 0, 0, 0, 0], accuracy: 1e-4)
    }

    func testDropout() {
        let x = Tensor(shape: [100, 100], values: [Float](repeating: 1, count: 10_000))
        let dropout = Dropout(probability: 0.25, seed: 3)
        XCTAssertTrue(dropout.forward(x, training: false) === x, "inference is the identity")
        let y = dropout.forward(x, training: true).values
        let kept = y.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 }, "inverted scaling")
        XCTAssertEqual(Double(kept.count) / 10_000, 0.75, accuracy: 0.02)
        dropout.reseed(3)
        XCTAssertEqual(dropout.forward(x, training: true).values, y, "same seed, same mask")
        XCTAssertNotEqual(dropout.forward(x, training: true).values, y, "the stream moves on")
    }

    func testFlattenKeepsRowMajorOrder() {
        let x = Tensor(shape: [2, 2, 1, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
        let y = Flatten().forward(x, training: false)
        XCTAssertEqual(y.shape, [2, 4])
        XCTAssertEqual(y.values, x.values)
    }

    func testLayersReuseTheirOutputWhileTheShapeIsUnchanged() {
        let registry = ParameterRegistry()
        let conv = Conv2d(name: "c", inputChannels: 1, outputChannels: 2, kernelSize: 3, padding: 1, registry: registry)
        registry.allocate()
        let x = TestData.uniform(shape: [2, 1, 5, 5], in: -1, 1, seed: 1)
        let first = conv.forward(x, training: true)
        let firstGradient = conv.backward(first)
        XCTAssertTrue(conv.forward(x, training: true) === first)
        XCTAssertTrue(conv.backward(first) === firstGradient)
        let smallerBatch = TestData.uniform(shape: [1, 1, 5, 5], in: -1, 1, seed: 2)
        XCTAssertEqual(conv.forward(smallerBatch, training: true).shape, [1, 2, 5, 5])
    }
}
