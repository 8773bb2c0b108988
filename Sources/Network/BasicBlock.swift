import Kernels

/// ResNet's basic residual block (He et al. 2016), torchvision's layout and names:
/// out = ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + shortcut(x)), with 3×3 convolutions without bias
/// (conv1 carries the stride) and shortcut = x, or `downsample.0` (1×1 conv, stride) then `downsample.1`
/// (BatchNorm) when the stride or channel count changes.
public final class BasicBlock: CompositeLayer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let stride: Int

    private let conv1: Conv2d
    private let bn1: BatchNorm2d
    private let relu1 = ReLU()
    private let conv2: Conv2d
    private let bn2: BatchNorm2d
    private let downsampleConv: Conv2d?
    private let downsampleNorm: BatchNorm2d?
    private let outputReLU = ReLU()

    private var sum: Tensor?
    private var gradInput: Tensor?

    public var parameterEntries: [ParameterEntry] { sublayers.flatMap(\.parameterEntries) }

    /// Registers the block's tensors under `name` (for example `layer2.0`).
    public init(name: String, inputChannels: Int, outputChannels: Int, stride: Int, registry: ParameterRegistry) {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.stride = stride
        conv1 = Conv2d(name: name + ".conv1", inputChannels: inputChannels, outputChannels: outputChannels,
                       kernelSize: 3, stride: stride, padding: 1, bias: false, registry: registry)
        bn1 = BatchNorm2d(name: name + ".bn1", channels: outputChannels, registry: registry)
        conv2 = Conv2d(name: name + ".conv2", inputChannels: outputChannels, outputChannels: outputChannels,
                       kernelSize: 3, stride: 1, padding: 1, bias: false, registry: registry)
        bn2 = BatchNorm2d(name: name + ".bn2", channels: outputChannels, registry: registry)
        if stride != 1 || inputChannels != outputChannels {
            downsampleConv = Conv2d(name: name + ".downsample.0", inputChannels: inputChannels, outputChannels: outputChannels,
                                    kernelSize: 1, stride: stride, padding: 0, bias: false, registry: registry)
            downsampleNorm = BatchNorm2d(name: name + ".downsample.1", channels: outputChannels, registry: registry)
        } else {
            downsampleConv = nil
            downsampleNorm = nil
        }
    }

    public var sublayers: [any Layer] {
        var layers: [any Layer] = [conv1, bn1, relu1, conv2, bn2]
        if let downsampleConv, let downsampleNorm { layers += [downsampleConv, downsampleNorm] }
        layers.append(outputReLU)
        return layers
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, in, H, W) → (N, out, H/stride, W/stride)
        var main = conv1.forward(x, training: training)
        main = bn1.forward(main, training: training)
        main = relu1.forward(main, training: training)
        main = conv2.forward(main, training: training)
        main = bn2.forward(main, training: training)
        var shortcut = x
        if let downsampleConv, let downsampleNorm {
            shortcut = downsampleNorm.forward(downsampleConv.forward(x, training: training), training: training)
        }
        precondition(shortcut.shape == main.shape, "BasicBlock: shortcut \(shortcut.shape) vs main \(main.shape)")
        let total = Tensor.reusing(sum, shape: main.shape)
        sum = total
        Self.add(main, shortcut, into: total)
        return outputReLU.forward(total, training: training)
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        // The gradient at the sum flows unchanged into both branches; their input gradients add up.
        let dSum = outputReLU.backward(gradOutput)
        var dMain = bn2.backward(dSum)
        dMain = conv2.backward(dMain)
        dMain = relu1.backward(dMain)
        dMain = bn1.backward(dMain)
        dMain = conv1.backward(dMain)
        var dShortcut = dSum
        if let downsampleConv, let downsampleNorm {
            dShortcut = downsampleConv.backward(downsampleNorm.backward(dSum))
        }
        let dx = Tensor.reusing(gradInput, shape: dMain.shape)
        gradInput = dx
        Self.add(dMain, dShortcut, into: dx)
        return dx
    }

    /// z = x + y on the worker pool in element chunks (a serial sum was 2–4% of a ResNet step at one thread, all of
    /// it left on the caller at two); element-wise, so the bits do not depend on the thread count.
    private static func add(_ x: Tensor, _ y: Tensor, into z: Tensor) {
        let (x, y, z) = (x.readable, y.readable, z.storage)
        WorkerPool.elementwise(count: z.count) { range in
            VectorOps.sum(UnsafeBufferPointer(rebasing: x[range]), UnsafeBufferPointer(rebasing: y[range]),
                          into: UnsafeMutableBufferPointer(rebasing: z[range]))
        }
    }
}
