import Kernels

/// One layer ("parameter tensor") of the model as L3RS sees it: a contiguous range of the flat parameter and
/// gradient buffers plus what kind of tensor it is and how deep in the network it sits.
///
/// L3RS never sees the network itself; this table is the whole interface, so the same optimizer code serves
/// any model whose parameters live in one flat buffer.
public struct LayerSlice: FlatBufferSlice, Sendable, Equatable, Codable {
    /// The tensor's name in the model's state dict, e.g. "layer1.0.conv1.weight"; recorded in the
    /// configuration so an embedding-trained optimizer can check it is applied to the same layers.
    public var name: String
    /// First element of the layer in the flat buffers.
    public var offset: Int
    /// Number of elements.
    public var count: Int
    public var kind: LayerKind
    /// Depth of the layer in [0, 1]: 0 for the input end, 1 for the classification head.
    public var relativeDepth: Float

    public init(name: String, offset: Int, count: Int, kind: LayerKind, relativeDepth: Float) {
        precondition(offset >= 0 && count > 0, "LayerSlice \(name): offset \(offset), count \(count)")
        self.name = name
        self.offset = offset
        self.count = count
        self.kind = kind
        self.relativeDepth = relativeDepth
    }
}
