/// A tensor by name, shape and Float values: the exchange format between φ and a safetensors file, so this
/// module needs no file-format code.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}
