import Kernels

/// One named tensor of the flat meta-parameter buffer φ: enough to write it as a safetensors entry.
public struct MetaParameterEntry: FlatBufferSlice, Sendable, Equatable, Codable {
    public var name: String
    /// First element in the flat buffer.
    public var offset: Int
    /// Tensor shape, row-major.
    public var shape: [Int]

    public init(name: String, offset: Int, shape: [Int]) {
        self.name = name
        self.offset = offset
        self.shape = shape
    }

    public var count: Int { shape.reduce(1, *) }
}
