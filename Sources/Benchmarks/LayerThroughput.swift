import Kernels
import Network

/// Achieved GFLOP/s of single Conv2d and Linear layers (forward, and forward + backward) at the shapes the
/// model zoo uses, and the sgemm ceiling they are judged against, measured in the same process.
public enum LayerThroughput {
    /// A layer shape to time: a convolution (channels in/out, square input side, kernel, stride, padding)
    /// or a fully connected layer (features in/out).
    /// A network's first layer is timed as training runs it: backward without the input gradient.
    public enum Shape: Sendable {
        case conv(name: String, inputChannels: Int, outputChannels: Int, size: Int, kernel: Int, stride: Int, padding: Int,
                  firstLayer: Bool = false)
        case linear(name: String, inputFeatures: Int, outputFeatures: Int)
    }

    /// The convolutions and linear layers of ccexam-mnist, the small ResNet (resnet-32), ResNet-18 on 64×64 and the MLP.
    public static let zooShapes: [Shape] = [
        .conv(name: "mnist features.0 1→32 28² (first: no dX)", inputChannels: 1, outputChannels: 32, size: 28, kernel: 3, stride: 1,
              padding: 1, firstLayer: true),
        .conv(name: "mnist features.3 32→64 14²", inputChannels: 32, outputChannels: 64, size: 14, kernel: 3, stride: 1, padding: 1),
        .conv(name: "resnet conv1 3→16 32² (first: no dX)", inputChannels: 3, outputChannels: 16, size: 32, kernel: 3, stride: 1,
              padding: 1, firstLayer: true),
        .conv(name: "resnet layer1 16→16 32²", inputChannels: 16, outputChannels: 16, size: 32, kernel: 3, stride: 1, padding: 1),
        .conv(name: "resnet layer2.conv1 16→32 s2", inputChannels: 16, outputChannels: 32, size: 32, kernel: 3, stride: 2, padding: 1),
        .conv(name: "resnet layer3.conv1 32→64 s2", inputChannels: 32, outputChannels: 64, size: 16, kernel: 3, stride: 2, padding: 1),
        .conv(name: "resnet layer3.conv2 64→64 8²", inputChannels: 64, outputChannels: 64, size: 8, kernel: 3, stride: 1, padding: 1),
        // torchvision's ResNet-18 on 3×64×64 (`resnet18@64`): the stem, a block's conv per stage, the stride-2
        // convs and a 1×1 downsample: many channels on small maps, all im2col + sgemm.
        .conv(name: "resnet18@64 conv1 3→64 7×7 s2 (first: no dX)", inputChannels: 3, outputChannels: 64, size: 64, kernel: 7,
              stride: 2, padding: 3, firstLayer: true),
        .conv(name: "resnet18@64 layer1 64→64 16²", inputChannels: 64, outputChannels: 64, size: 16, kernel: 3, stride: 1, padding: 1),
        .conv(name: "resnet18@64 layer2.0.conv1 64→128 s2", inputChannels: 64, outputChannels: 128, size: 16, kernel: 3, stride: 2,
              padding: 1),
        .conv(name: "resnet18@64 layer2.0.downsample 1×1 s2", inputChannels: 64, outputChannels: 128, size: 16, kernel: 1, stride: 2,
              padding: 0),
        .conv(name: "resnet18@64 layer3 256→256 4²", inputChannels: 256, outputChannels: 256, size: 4, kernel: 3, stride: 1, padding: 1),
        .conv(name: "resnet18@64 layer4 512→512 2²", inputChannels: 512, outputChannels: 512, size: 2, kernel: 3, stride: 1, padding: 1),
        .linear(name: "mnist classifier.0 3136→128", inputFeatures: 3136, outputFeatures: 128),
        .linear(name: "mlp layers.1 784→256", inputFeatures: 784, outputFeatures: 256),
    ]

    /// Square n×n operands for the ceiling sgemm, made once and reused between layer measurements.
    public final class CeilingProbe {
        let size: Int
        let a: Tensor, b: Tensor, c: Tensor

        public init(size: Int = 1024) {
            self.size = size
            a = Tensor(shape: [size, size]); b = Tensor(shape: [size, size]); c = Tensor(shape: [size, size])
            for i in 0..<a.count { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        }

        /// Seconds of one C = A·B.
        public func time() -> Double {
            let start = Stopwatch.now()
            GEMM.multiply(a.pointer, b.pointer, into: c.pointer, m: size, n: size, k: size)
            return Stopwatch.now() - start
        }

        public var flops: Double { 2 * Double(size) * Double(size) * Double(size) }
    }

    /// GFLOP/s of C = A·B for square n×n matrices with the current BLAS thread count (median of `repeats`).
    public static func sgemmCeiling(size: Int = 1536, repeats: Int = 5) -> Double {
        let probe = CeilingProbe(size: size)
        _ = probe.time()
        return probe.flops / Stopwatch.median(of: (0..<repeats).map { _ in probe.time() }) / 1e9
    }

    /// One layer's achieved GFLOP/s and the sgemm ceiling measured interleaved with it (layer forward,
    /// layer forward + backward, ceiling sgemm, repeated), so that load from other processes hits both alike.
    /// A forward is 2·N·out·P·(in·k²) flops for a convolution (2·N·out·in for Linear); backward is twice that
    /// (weight and input gradients), once for a first layer (weight gradient only).
    public static func measure(_ shape: Shape, batch: Int, repeats: Int, probe: CeilingProbe)
        -> (name: String, forward: Double, training: Double, ceiling: Double) {
        let registry = ParameterRegistry()
        let layer: any Layer
        let inputShape: [Int]
        let flops: Double
        let name: String
        var firstLayer = false
        switch shape {
        case let .conv(label, inputChannels, outputChannels, size, kernel, stride, padding, first):
            firstLayer = first
            layer = Conv2d(name: "c", inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel,
                           stride: stride, padding: padding, registry: registry)
            inputShape = [batch, inputChannels, size, size]
            let out = (size + 2 * padding - kernel) / stride + 1
            flops = 2 * Double(batch * outputChannels * out * out * inputChannels * kernel * kernel)
            name = label
        case let .linear(label, inputFeatures, outputFeatures):
            layer = Linear(name: "l", inputFeatures: inputFeatures, outputFeatures: outputFeatures, registry: registry)
            inputShape = [batch, inputFeatures]
            flops = 2 * Double(batch * inputFeatures * outputFeatures)
            name = label
        }
        registry.allocate()
        let x = SyntheticBatch(shape: inputShape, classCount: 1, seed: 3).input
        let y = layer.forward(x, training: true)
        let gradient = SyntheticBatch(shape: y.shape, classCount: 1, seed: 4).input
        _ = layer.backward(gradient, inputGradient: !firstLayer)
        _ = probe.time()
        var forward: [Double] = [], training: [Double] = [], ceiling: [Double] = []
        for _ in 0..<max(1, repeats) {
            var start = Stopwatch.now()
            _ = layer.forward(x, training: true)
            forward.append(Stopwatch.now() - start)
            start = Stopwatch.now()
            _ = layer.forward(x, training: true)
            _ = layer.backward(gradient, inputGradient: !firstLayer)
            training.append(Stopwatch.now() - start)
            ceiling.append(probe.time())
        }
        return (name, flops / Stopwatch.median(of: forward) / 1e9, (firstLayer ? 2 : 3) * flops / Stopwatch.median(of: training) / 1e9,
                probe.flops / Stopwatch.median(of: ceiling) / 1e9)
    }
}
