import Kernels

/// max(0, x), element-wise on any shape. The derivative at exactly 0 is taken as 0, like PyTorch. Both passes
/// run on `WorkerPool.shared` in chunks of `elementsPerTask`.
public final class ReLU: Layer {
    /// Elements per pool task.
    static let elementsPerTask = 1 << 15

    private var output: Tensor?
    private var gradInput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        WorkerPool.shared.run(count: x.count, chunk: Self.elementsPerTask) { range, _ in
            VectorOps.relu(UnsafeBufferPointer(rebasing: x.readable[range]), into: UnsafeMutableBufferPointer(rebasing: y.storage[range]))
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let y = output else { preconditionFailure("ReLU.backward before forward") }
        precondition(gradOutput.shape == y.shape, "ReLU.backward: gradient shape \(gradOutput.shape)")
        let dx = Tensor.reusing(gradInput, shape: y.shape)
        gradInput = dx
        WorkerPool.shared.run(count: y.count, chunk: Self.elementsPerTask) { range, _ in
            VectorOps.reluGradient(output: UnsafeBufferPointer(rebasing: y.readable[range]),
                                   gradient: UnsafeBufferPointer(rebasing: gradOutput.readable[range]),
                                   into: UnsafeMutableBufferPointer(rebasing: dx.storage[range]))
        }
        return dx
    }
}
