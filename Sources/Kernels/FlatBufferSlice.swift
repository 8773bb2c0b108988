/// A named, contiguous run of a flat buffer: a row of the model's layer table (`ParameterEntry`), an optimizer's
/// parameter group, L3RS's view of a layer (`LayerSlice`) and a tensor of φ (`MetaParameterEntry`) are all one,
/// with what each adds (shape, kind, multipliers). The range arithmetic lives here once.
public protocol FlatBufferSlice {
    /// The tensor's or group's name, for files, logs and errors.
    var name: String { get }
    /// First element in the flat buffer.
    var offset: Int { get }
    /// Number of elements.
    var count: Int { get }
}

extension FlatBufferSlice {
    /// The element indices in the flat buffer.
    public var range: Range<Int> { offset..<(offset + count) }
}
