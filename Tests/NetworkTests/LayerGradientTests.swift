import Seeding
import XCTest
@testable import Network

/// Finite-difference checks of every layer, with respect to its input and to each of its parameters.
/// ε = 1e-2 and relative tolerance 2e-2 on the vector of checked coordinates (see `GradientCheck`).
final class LayerGradientTests: XCTestCase {
    let tolerance = 2e-2

    private func makeLayer<L: Layer>(_ build: (ParameterRegistry) -> L, seed: UInt64 = 3) -> (L, ParameterRegistry) {
        let registry = ParameterRegistry()
        let layer = build(registry)
        registry.allocate()
        TestData.randomize(registry.parameters, seed: seed)
        var generator = SplitMix64(seed: seed)
        ParameterInitializer.initialize(registry.buffers.entries, in: registry.buffers, using: &generator)
        return (layer, registry)
    }

    func testLinear() {
        let (layer, registry) = makeLayer { Linear(name: "fc", inputFeatures: 5, outputFeatures: 4, registry: $0) }
        let x = TestData.uniform(shape: [3, 5], in: -1, 1, seed: 1)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: registry.parameters), tolerance: tolerance)
    }

    func testLinearWithoutBias() {
        let (layer, registry) = makeLayer { Linear(name: "fc", inputFeatures: 3, outputFeatures: 2, bias: false, registry: $0) }
        XCTAssertEqual(registry.parameters.entries.map(\.name), ["fc.weight"])
        let x = TestData.uniform(shape: [4, 3], in: -1, 1, seed: 2)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: registry.parameters), tolerance: tolerance)
    }

    /// Conv2d in the geometries the model zoo uses: padded stride 1; strided without bias; pointwise strided;
    /// torchvision's ResNet stem (7×7, stride 2, padding 3, no bias). Each also checks the output shape.
    func testConv2dGeometries() {
        struct Case { let name: String, channels: (input: Int, output: Int), kernel: Int, stride: Int, padding: Int, bias: Bool
                      let input: [Int], seed: UInt64, output: [Int] }
        let cases = [
            Case(name: "c", channels: (2, 3), kernel: 3, stride: 1, padding: 1, bias: true, input: [2, 2, 5, 4], seed: 3, output: [2, 3, 5, 4]),
            Case(name: "c", channels: (3, 2), kernel: 3, stride: 2, padding: 1, bias: false, input: [2, 3, 7, 6], seed: 4, output: [2, 2, 4, 3]),
            Case(name: "c", channels: (2, 3), kernel: 1, stride: 2, padding: 0, bias: true, input: [2, 2, 5, 5], seed: 5, output: [2, 3, 3, 3]),
            Case(name: "conv1", channels: (3, 2), kernel: 7, stride: 2, padding: 3, bias: false, input: [2, 3, 9, 8], seed: 8, output: [2, 2, 5, 4]),
        ]
        for c in cases {
            let (layer, registry) = makeLayer {
                Conv2d(name: c.name, inputChannels: c.channels.input, outputChannels: c.channels.output, kernelSize: c.kernel,
                       stride: c.stride, padding: c.padding, bias: c.bias, registry: $0)
            }
            let x = TestData.uniform(shape: c.input, in: -1, 1, seed: c.seed)
            let label = "kernel \(c.kernel) stride \(c.stride) padding \(c.padding) bias \(c.bias)"
            XCTAssertEqual(layer.forward(x, training: true).shape, c.output, label)
            assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: registry.parameters),
                                 tolerance: tolerance, label)
        }
    }

    func testMaxPool2d() {
        // (3, 2, 1) is torchvision's ResNet stem: windows at the border hold only 4 or 6 positions.
        for (kernel, stride, padding) in [(2, 2, 0), (3, 2, 0), (3, 2, 1)] {
            let x = TestData.wellSeparated(shape: [2, 2, 5, 6], seed: 6)
            assertGradientsMatch(GradientCheck.layerResults(MaxPool2d(kernelSize: kernel, stride: stride, padding: padding), input: x,
                                                            training: true, parameters: nil),
                                 tolerance: tolerance, "kernel \(kernel) stride \(stride) padding \(padding)")
        }
    }

    func testAvgPool2d() {
        for (kernel, stride) in [(2, 2), (3, 1)] {
            let x = TestData.uniform(shape: [2, 2, 5, 4], in: -1, 1, seed: 7)
            assertGradientsMatch(GradientCheck.layerResults(AvgPool2d(kernelSize: kernel, stride: stride), input: x,
                                                            training: true, parameters: nil),
                                 tolerance: tolerance, "kernel \(kernel) stride \(stride)")
        }
    }

    func testGlobalAvgPool() {
        let x = TestData.uniform(shape: [2, 3, 3, 4], in: -1, 1, seed: 8)
        assertGradientsMatch(GradientCheck.layerResults(GlobalAvgPool(), input: x, training: true, parameters: nil), tolerance: tolerance)
    }

    func testReLU() {
        let x = TestData.awayFromZero(shape: [3, 7], seed: 9)
        assertGradientsMatch(GradientCheck.layerResults(ReLU(), input: x, training: true, parameters: nil), tolerance: tolerance)
    }

    func testGELU() {
        let x = TestData.uniform(shape: [3, 2, 5], in: -3, 3, seed: 10)
        assertGradientsMatch(GradientCheck.layerResults(GELU(), input: x, training: true, parameters: nil), tolerance: tolerance)
    }

    func testTanh() {
        let x = TestData.uniform(shape: [4, 5], in: -2, 2, seed: 11)
        assertGradientsMatch(GradientCheck.layerResults(Tanh(), input: x, training: true, parameters: nil), tolerance: tolerance)
    }

    func testFlatten() {
        let x = TestData.uniform(shape: [2, 3, 2, 2], in: -1, 1, seed: 12)
        let layer = Flatten()
        XCTAssertEqual(layer.forward(x, training: true).shape, [2, 12])
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: nil), tolerance: tolerance)
    }

    func testBatchNorm2dTrainingMode() {
        let (layer, registry) = makeLayer { BatchNorm2d(name: "bn", channels: 3, registry: $0) }
        let x = TestData.uniform(shape: [3, 3, 2, 3], in: -2, 2, seed: 13)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: registry.parameters), tolerance: tolerance)
    }

    func testBatchNorm2dInferenceMode() {
        let (layer, registry) = makeLayer { BatchNorm2d(name: "bn", channels: 3, registry: $0) }
        // Non-trivial running statistics, so inference is not the identity.
        let mean = registry.buffers.values(of: layer.runningMean), variance = registry.buffers.values(of: layer.runningVariance)
        for c in 0..<3 {
            mean[c] = 0.3 * Float(c) - 0.2
            variance[c] = 0.5 + Float(c)
        }
        let x = TestData.uniform(shape: [2, 3, 3, 2], in: -2, 2, seed: 14)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: false, parameters: registry.parameters), tolerance: tolerance)
    }

    func testLayerNorm() {
        let (layer, registry) = makeLayer { LayerNorm(name: "ln", normalizedShape: [2, 4], registry: $0) }
        let x = TestData.uniform(shape: [3, 2, 4], in: -2, 2, seed: 15)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: registry.parameters), tolerance: tolerance)
    }

    func testDropoutTrainingReplaysTheSameMask() {
        let layer = Dropout(probability: 0.4, seed: 1)
        let x = TestData.uniform(shape: [4, 6], in: -1, 1, seed: 16)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: nil,
                                                        prepare: { layer.reseed(21) }),
                             tolerance: tolerance)
    }

    func testDropoutInference() {
        let x = TestData.uniform(shape: [4, 6], in: -1, 1, seed: 17)
        assertGradientsMatch(GradientCheck.layerResults(Dropout(probability: 0.4), input: x, training: false, parameters: nil),
                             tolerance: tolerance)
    }

    func testBasicBlockWithDownsampleTraining() {
        let (layer, registry) = makeLayer {
            BasicBlock(name: "layer2.0", inputChannels: 2, outputChannels: 3, stride: 2, registry: $0)
        }
        let x = TestData.uniform(shape: [2, 2, 6, 6], in: -1, 1, seed: 18)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: true, parameters: registry.parameters,
                                                        epsilon: 3e-3),
                             tolerance: tolerance)
    }

    func testBasicBlockIdentityShortcutInference() {
        let (layer, registry) = makeLayer {
            BasicBlock(name: "layer1.0", inputChannels: 3, outputChannels: 3, stride: 1, registry: $0)
        }
        XCTAssertNil(registry.parameters.entry(named: "layer1.0.downsample.0.weight"))
        let x = TestData.uniform(shape: [2, 3, 4, 4], in: -1, 1, seed: 19)
        assertGradientsMatch(GradientCheck.layerResults(layer, input: x, training: false, parameters: registry.parameters,
                                                        epsilon: 3e-3),
                             tolerance: tolerance)
    }

    /// backward ADDS parameter gradients: two backward passes without zeroing give twice the gradient.
    func testParameterGradientsAccumulate() {
        let model = ModelZoo.ccexamUSPS(seed: 8)
        let x = TestData.uniform(shape: [2, 1, 16, 16], in: -1, 1, seed: 1)
        let loss = SoftmaxCrossEntropy()
        let once = model.freshGradients(input: x, labels: [1, 2], loss: loss)
        model.backward(loss.gradient())
        let twice = Array(model.parameters.gradients)
        for i in stride(from: 0, to: once.count, by: 97) {
            XCTAssertEqual(twice[i], 2 * once[i], accuracy: 1e-6 + 1e-5 * abs(once[i]))
        }
    }
}
