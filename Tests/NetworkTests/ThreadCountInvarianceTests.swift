import XCTest
@testable import Kernels
@testable import Network

/// The passes that run on `WorkerPool.shared` (the blocks of every matrix product, im2col/col2im and the layout copies, the direct convolutions and
/// their grouped weight gradient, BatchNorm, pooling, ReLU) give the same bits at 1, 2, 3 and 4 threads: forward
/// outputs, parameter gradients, input gradients and BatchNorm's running statistics.
final class ThreadCountInvarianceTests: XCTestCase {
    private var threadsBefore = 1

    override func setUp() {
        super.setUp()
        threadsBefore = WorkerPool.shared.threadCount
    }

    override func tearDown() {
        WorkerPool.shared.setThreadCount(threadsBefore)
        super.tearDown()
    }

    /// logits, every parameter gradient, ∂L/∂input and the buffers after one training forward and backward.
    private func trainingPass(_ model: Model, input: Tensor, labels: [Int]) -> [Float] {
        model.parameters.zeroGradients()
        let logits = model.forward(input, training: true)
        let loss = SoftmaxCrossEntropy()
        _ = loss.loss(logits: logits, labels: labels)
        let dx = model.backward(loss.gradient())
        return logits.values + Array(model.parameters.gradients) + dx.values + Array(model.buffers.values)
    }

    private func assertSameBitsAtEveryThreadCount(_ name: String, batch: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        var reference: [UInt32]?
        for threads in 1...4 {
            WorkerPool.shared.setThreadCount(threads)
            let model = try ModelZoo.make(named: name, seed: 5)
            let input = TestData.uniform(shape: [batch] + model.inputShape, in: -1, 1, seed: 11)
            let bits = trainingPass(model, input: input, labels: TestData.labels(count: batch, classes: model.classCount))
                .map(\.bitPattern)
            if let reference {
                let differing = zip(reference, bits).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(name): \(differing) values differ between 1 and \(threads) threads", file: file, line: line)
            } else {
                reference = bits
            }
        }
    }

    /// 1→32 direct (forward, dW with bias in three groups of images, the last partial), 32→64 by output channels
    /// (its dX on the sgemm and col2im), ReLU, 2×2 max pooling.
    func testCCExamMNIST() throws { try assertSameBitsAtEveryThreadCount("ccexam-mnist", batch: 37) }

    /// Direct stride-1 and stride-2 convolutions (forward, dW without bias in two groups, both input gradients),
    /// 1×1 downsampling on im2col, BatchNorm in training, global pooling.
    func testResNet32() throws { try assertSameBitsAtEveryThreadCount("resnet-32", batch: 18) }

    /// The MLP: every Linear product cut into blocks that run on the pool (`GEMM.Partition`), by columns of the
    /// weight gradient and by blocks of output features forward.
    func testMLP() throws { try assertSameBitsAtEveryThreadCount("mlp", batch: 128) }

    /// The SVHN network: BatchNorm after 3-channel and 32-channel convolutions, three max pools.
    func testCCExamSVHN() throws { try assertSameBitsAtEveryThreadCount("ccexam-svhn", batch: 5) }

    /// Layers the zoo models above do not reach: im2col with several chunks (stride 2, bias), a 3×3 stride-2
    /// max pool with padding, ReLU over more than one pool chunk.
    func testLayersOffTheModelPaths() {
        var reference: [UInt32]?
        for threads in 1...4 {
            WorkerPool.shared.setThreadCount(threads)
            let registry = ParameterRegistry()
            let conv = Conv2d(name: "c", inputChannels: 5, outputChannels: 7, kernelSize: 3, stride: 2, padding: 1, registry: registry)
            conv.allowsDirectKernel = false
            conv.chunkFloats = 2000
            registry.allocate()
            TestData.randomize(registry.parameters, seed: 2)
            let pool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
            let relu = ReLU()
            let x = TestData.uniform(shape: [6, 5, 19, 23], in: -1, 1, seed: 3)
            registry.parameters.zeroGradients()
            let y = relu.forward(pool.forward(conv.forward(x, training: true), training: true), training: true)
            let dy = TestData.uniform(shape: y.shape, in: -1, 1, seed: 4)
            let dx = conv.backward(pool.backward(relu.backward(dy)))
            let wide = TestData.uniform(shape: [3, 40_000], in: -1, 1, seed: 5)
            let wideY = relu.forward(wide, training: true)
            let wideDx = relu.backward(TestData.uniform(shape: [3, 40_000], in: -1, 1, seed: 6))
            let bits = (y.values + dx.values + Array(registry.parameters.gradients) + wideY.values + wideDx.values).map(\.bitPattern)
            if let reference {
                XCTAssertEqual(bits, reference, "1 and \(threads) threads differ")
            } else {
                reference = bits
            }
        }
    }
}
