import Kernels

/// max(0, x), element-wise on any shape. The derivative at exactly 0 is taken as 0, like PyTorch. Both passes
/// run on `WorkerPool.shared` in chunks of `elementsPerTask`.
public final class ReLU: Layer {
    /// Elements per pool task.
    static let elementsPerTask = 1 << 15

    private var buffers = LayerBuffers(layerName: "ReLU")
    /// The conv before it applies this ReLU (`Conv2d.fusesReLU`, set together by `Model(table:)`): forward
    /// returns its input, already rectified, and backward its gradient, which that conv takes through the ReLU.
    public var passesThrough = false

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if passesThrough { return x }
        let y = buffers.output(for: x)
        WorkerPool.shared.run(count: x.count, chunk: Self.elementsPerTask) { range, _ in
            VectorOps.relu(UnsafeBufferPointer(rebasing: x.readable[range]), into: UnsafeMutableBufferPointer(rebasing: y.storage[range]))
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        if passesThrough { return gradOutput }
        let (y, dx) = buffers.gradInput(for: gradOutput)
        WorkerPool.shared.run(count: y.count, chunk: Self.elementsPerTask) { range, _ in
            VectorOps.reluGradient(output: UnsafeBufferPointer(rebasing: y.readable[range]),
                                   gradient: UnsafeBufferPointer(rebasing: gradOutput.readable[range]),
                                   into: UnsafeMutableBufferPointer(rebasing: dx.storage[range]))
        }
        return dx
    }
}
