/// One named tensor as both safetensors and PyTorch files produce it: contiguous, row-major, little-endian
/// bytes with a dtype and a shape. Keeping the raw bytes (rather than converting to Float at load) makes
/// round trips exact for every dtype; `floats()` and `int64s()` convert when a consumer needs numbers.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var dtype: TensorDType
    /// Empty for a scalar.
    public var shape: [Int]
    public var bytes: [UInt8]

    /// Makes a tensor, checking that the bytes fit the shape and dtype.
    public init(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw CheckpointError(file: name, "shape \(shape) has a negative dimension") }
        guard let elements = NamedTensor.checkedElementCount(shape), elements <= Int.max / dtype.byteSize else {
            throw CheckpointError(file: name, "shape \(shape) is too large")
        }
        let expected = elements * dtype.byteSize
        guard bytes.count == expected else {
            throw CheckpointError(file: name, "tensor has \(bytes.count) bytes, shape \(shape) of \(dtype.rawValue) needs \(expected)")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(name: name, dtype: .f32, shape: shape, elements: floats)
    }

    public init(name: String, shape: [Int], int64s: [Int64]) {
        self.init(name: name, dtype: .i64, shape: shape, elements: int64s)
    }

    /// The raw bytes of `elements`, whose type `dtype` names, as a tensor of `shape` (their count must fit).
    private init<Element>(name: String, dtype: TensorDType, shape: [Int], elements: [Element]) {
        precondition(NamedTensor.elementCount(shape) == elements.count, "\(name): \(elements.count) values for shape \(shape)")
        self.name = name
        self.dtype = dtype
        self.shape = shape
        bytes = elements.withUnsafeBytes { Array($0) }
    }

    public var elementCount: Int { NamedTensor.elementCount(shape) }

    static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The product of a shape read from an untrusted file, or nil when it overflows.
    static func checkedElementCount(_ shape: [Int]) -> Int? {
        var product = 1
        for size in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            product = next
        }
        return product
    }

    /// The elements converted to Float (F16 and BF16 widened exactly, integers rounded to nearest Float).
    public func floats() -> [Float] {
        let count = elementCount
        return bytes.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case .f32: return (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            case .f64: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            case .f16: return (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
            case .bf16: return (0..<count).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
            case .i64: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .i32: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .i16: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
            case .i8: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0, as: Int8.self)) }
            case .u8, .bool: return raw.map { Float($0) }
            }
        }
    }

    /// The elements as Int64, for integer dtypes (e.g. BatchNorm's `num_batches_tracked`); nil for floats.
    public func int64s() -> [Int64]? {
        let count = elementCount
        return bytes.withUnsafeBytes { raw -> [Int64]? in
            switch dtype {
            case .i64: return (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
            case .i32: return (0..<count).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .i16: return (0..<count).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
            case .i8: return (0..<count).map { Int64(raw.loadUnaligned(fromByteOffset: $0, as: Int8.self)) }
            case .u8, .bool: return raw.map { Int64($0) }
            case .f64, .f32, .f16, .bf16: return nil
            }
        }
    }
}

/// A whole checkpoint: tensors in a deterministic order plus string metadata.
public struct TensorFile: Sendable, Equatable {
    /// In file order: data-offset order for safetensors, pickle order for PyTorch state_dicts.
    public var tensors: [NamedTensor]
    /// safetensors `__metadata__` (for a PyTorch file: its format and archive name).
    public var metadata: [String: String]

    public init(tensors: [NamedTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> NamedTensor? { tensors.first { $0.name == name } }

    public var names: [String] { tensors.map(\.name) }

    /// Elements over all tensors, the "parameter count" of a state_dict (BatchNorm buffers included).
    public var elementCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
}
