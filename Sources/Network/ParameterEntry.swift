import Kernels

/// One row of the layer table: where a named tensor lives inside a flat parameter (or buffer) store.
public struct ParameterEntry: FlatBufferSlice, Sendable, Equatable, Codable {
    /// PyTorch state_dict key, for example `features.0.weight`.
    public let name: String
    /// First element's index in the store's flat buffer.
    public let offset: Int
    /// PyTorch layout of the tensor, for example (out, in, kh, kw) for a conv weight; [] for a scalar.
    public let shape: [Int]
    public let kind: ParameterKind
    /// Number of elements (product of `shape`; 1 for a scalar).
    public let count: Int
    /// Fan-in of the layer that owns this tensor (in·kh·kw for conv, in for linear), used for PyTorch's
    /// default uniform bounds of weights AND biases; 0 where it does not apply (norms, buffers).
    public let fanIn: Int

    public init(name: String, offset: Int, shape: [Int], kind: ParameterKind, fanIn: Int = 0) {
        self.name = name
        self.offset = offset
        self.shape = shape
        self.kind = kind
        self.count = shape.reduce(1, *)
        self.fanIn = fanIn
    }
}
