import Kernels

/// A dense Float array with a shape, owning its storage (row-major, last dimension fastest).
///
/// Activations and their gradients are Tensors. Layers keep the Tensors they return and reuse them while
/// the batch shape stays the same (`Tensor.reusing`), so a training step allocates nothing once warm.
/// A class, not a struct, so that a layer can hand its output to the next layer without copying and keep a
/// reference to its input for the backward pass.
public final class Tensor {
    /// Dimensions, outermost first, for example (N, C, H, W).
    public let shape: [Int]
    /// The owned elements; valid until the Tensor is deallocated.
    public let storage: UnsafeMutableBufferPointer<Float>

    /// A zero-filled tensor of the given shape.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        let count = shape.reduce(1, *)
        // Allocate at least one element so `baseAddress` is never nil, even for empty tensors.
        let base = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        storage = UnsafeMutableBufferPointer(start: base, count: count)
    }

    /// A tensor holding a copy of `values` (count must equal the product of `shape`).
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { VectorOps.copy($0, to: storage) }
    }

    deinit { storage.baseAddress?.deallocate() }

    /// Number of elements.
    public var count: Int { storage.count }
    /// First element's address, for the kernels.
    public var pointer: UnsafeMutablePointer<Float> { storage.baseAddress! }
    /// Read-only view of the elements.
    public var readable: UnsafeBufferPointer<Float> { UnsafeBufferPointer(storage) }

    public subscript(index: Int) -> Float {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// The elements copied into an Array (for tests and reports, not the hot path).
    public var values: [Float] { Array(storage) }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { VectorOps.fill(storage, with: value) }

    /// Copies the elements of `other`, which must have the same element count.
    public func copy(from other: Tensor) { VectorOps.copy(other.readable, to: storage) }

    /// `existing` when it already has `shape`, otherwise a new zero-filled tensor: how layers avoid
    /// allocating on every step while still following a change of batch size.
    public static func reusing(_ existing: Tensor?, shape: [Int]) -> Tensor {
        if let existing, existing.shape == shape { return existing }
        return Tensor(shape: shape)
    }
}
