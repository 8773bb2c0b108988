/// Import of PyTorch `torch.save` files holding a state_dict, natively, with no Python.
///
/// Such a file is a zip archive with `<archive>/data.pkl` (a pickle of an OrderedDict of tensors) and one
/// raw storage per tensor in `<archive>/data/<key>`. Each tensor in the pickle is
/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` where `storage` is a persistent
/// reference `('storage', torch.FloatStorage, key, location, numel)`. The importer resolves the references,
/// applies offset and strides, and returns contiguous tensors in the state_dict's order.
///
/// Training scripts often save a whole checkpoint instead, the state_dict nested under a key beside the
/// epoch, the optimizer and the arguments (`{"state_dict": ...}` in PyTorch's ImageNet example, `{"model": ...}`
/// in torchvision's reference scripts); the state_dict is then taken from the first of `stateDictKeys` that
/// holds a dict of tensors, and the rest of the file is read but not used.
public enum PyTorchStateDict {
    /// Where checkpoints nest their state_dict, in the order tried.
    public static let stateDictKeys = ["state_dict", "model", "model_state_dict", "net"]

    /// Callables that such checkpoints use for plain data beside the state_dict (the script's arguments, numpy
    /// scalars and the bytes inside them, sets). They become opaque values, never called; any other callable
    /// is refused by name.
    static let opaqueCallables: Set<String> = [
        "argparse.Namespace", "_codecs.encode", "builtins.set", "builtins.frozenset", "builtins.slice",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray", "torch.torch_version.TorchVersion",
    ]

    /// A storage named by the pickle: which zip entry, and its element type.
    struct StorageReference {
        let key: String
        let dtype: TensorDType
        let elementCount: Int
    }

    /// A tensor as the pickle describes it, before its storage is read.
    struct TensorReference {
        let storage: StorageReference
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    static let storageTypes: [String: TensorDType] = [
        "FloatStorage": .f32, "DoubleStorage": .f64, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    public static func isPyTorchArchive(_ bytes: [UInt8]) -> Bool { ZipArchive.isZip(bytes) }

    public static func decode(_ bytes: [UInt8], file: String) throws -> TensorFile {
        let archive = try ZipArchive(bytes, file: file)
        guard let pickleEntry = archive.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw CheckpointError(file: file, "zip archive has no data.pkl: not a torch.save file (entries: \(archive.entries.prefix(5).map(\.name)))")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try archive.contents(of: order), as: UTF8.self)
            guard text == "little" else { throw CheckpointError(file: file, "byteorder is '\(text)'; only little-endian checkpoints are supported") }
        }

        var unpickler = Unpickler(try archive.contents(of: pickleEntry), file: file + " (data.pkl)",
                                  reduce: reduce, persistentLoad: { try persistentLoad($0, file: file) })
        let root = try unpickler.load()
        guard case let .dict(rootDict) = root else {
            throw CheckpointError(file: file, "data.pkl holds a \(root.typeName), expected a state_dict (an OrderedDict of tensors)")
        }
        let (dict, nestedKey) = try stateDict(in: rootDict, file: file)

        var storages: [String: [UInt8]] = [:]
        var tensors: [NamedTensor] = []
        var seen = Set<String>()
        for (key, value) in dict.entries {
            guard case let .string(name) = key else { throw CheckpointError(file: file, "state_dict key is a \(key.typeName), expected a string") }
            guard seen.insert(name).inserted else { throw CheckpointError(file: file, "state_dict key \"\(name)\" appears twice") }
            guard case let .custom(box) = value, let reference = box.value as? TensorReference else {
                throw CheckpointError(file: file, "state_dict entry \"\(name)\" is a \(value.typeName), expected a tensor")
            }
            if storages[reference.storage.key] == nil {
                guard let entry = archive.entry(named: prefix + "data/" + reference.storage.key) else {
                    throw CheckpointError(file: file, "tensor \"\(name)\": storage entry \(prefix)data/\(reference.storage.key) is missing from the archive")
                }
                storages[reference.storage.key] = try archive.contents(of: entry)
            }
            tensors.append(try materialise(reference, name: name, storage: storages[reference.storage.key]!, file: file))
        }
        var metadata = ["format": "pt", "source": "torch.save", "archive": String(prefix.dropLast())]
        if let nestedKey { metadata["state_dict_key"] = nestedKey }
        return TensorFile(tensors: tensors, metadata: metadata)
    }

    /// The pickle's top-level dict when its values are tensors, else the dict of tensors under the first of
    /// `stateDictKeys` it has (returned with that key). A dict that is neither is an error listing its keys.
    static func stateDict(in root: PickleDict, file: String) throws -> (PickleDict, key: String?) {
        func holdsTensors(_ dict: PickleDict) -> Bool {
            !dict.entries.isEmpty && dict.entries.allSatisfy { entry in
                if case let .custom(box) = entry.value { return box.value is TensorReference }
                return false
            }
        }
        if holdsTensors(root) { return (root, nil) }
        for key in stateDictKeys {
            let value = root.entries.first { if case .string(key) = $0.key { return true } else { return false } }?.value
            if case let .dict(nested)? = value, holdsTensors(nested) { return (nested, key) }
        }
        let hasTensors = root.entries.contains { if case .custom = $0.value { return true } else { return false } }
        if hasTensors { return (root, nil) } // a state_dict with a stray entry: the entry is named below
        let keys = root.entries.prefix(12).map { entry in
            if case let .string(name) = entry.key { return name }
            return entry.key.typeName
        }
        throw CheckpointError(file: file, "data.pkl holds a dict with keys \(keys) and no state_dict: expected a dict of tensors, or one under \(stateDictKeys.joined(separator: ", "))")
    }

    /// Copies a (possibly strided, offset) view of a storage into contiguous row-major bytes.
    static func materialise(_ reference: TensorReference, name: String, storage: [UInt8], file: String) throws -> NamedTensor {
        let dtype = reference.storage.dtype
        let width = dtype.byteSize
        guard storage.count % width == 0, storage.count / width == reference.storage.elementCount else {
            throw CheckpointError(file: file, "tensor \"\(name)\": storage \(reference.storage.key) has \(storage.count) bytes, expected \(reference.storage.elementCount) × \(width)")
        }
        let shape = reference.shape
        guard shape.count == reference.strides.count, shape.allSatisfy({ $0 >= 0 }), reference.offset >= 0 else {
            throw CheckpointError(file: file, "tensor \"\(name)\": size \(shape), stride \(reference.strides) and offset \(reference.offset) are inconsistent")
        }
        guard let count = NamedTensor.checkedElementCount(shape), count <= reference.storage.elementCount else {
            throw CheckpointError(file: file, "tensor \"\(name)\": size \(shape) holds more elements than its storage of \(reference.storage.elementCount)")
        }
        if count == 0 { return try NamedTensor(name: name, dtype: dtype, shape: shape, bytes: []) }
        // The largest element index the view touches must lie inside the storage (computed without overflow).
        var lastIndex: Int? = reference.offset
        for (size, stride) in zip(shape, reference.strides) {
            guard stride >= 0, let sum = lastIndex else { lastIndex = nil; break }
            let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
            let (next, addOverflow) = sum.addingReportingOverflow(step)
            lastIndex = stepOverflow || addOverflow ? nil : next
        }
        guard let lastIndex, lastIndex < reference.storage.elementCount else {
            throw CheckpointError(file: file, "tensor \"\(name)\": view (offset \(reference.offset), size \(shape), stride \(reference.strides)) reaches outside its storage of \(reference.storage.elementCount) elements")
        }
        let contiguousStrides = shape.indices.map { axis in shape[(axis + 1)...].reduce(1, *) }
        if zip(shape, zip(reference.strides, contiguousStrides)).allSatisfy({ $0.0 == 1 || $0.1.0 == $0.1.1 }) {
            let start = reference.offset * width
            return try NamedTensor(name: name, dtype: dtype, shape: shape, bytes: Array(storage[start..<(start + count * width)]))
        }
        var output = [UInt8](repeating: 0, count: count * width)
        var index = [Int](repeating: 0, count: shape.count)
        for element in 0..<count {
            let source = (reference.offset + zip(index, reference.strides).reduce(0) { $0 + $1.0 * $1.1 }) * width
            for byte in 0..<width { output[element * width + byte] = storage[source + byte] }
            // Advance the multi-index in row-major order.
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return try NamedTensor(name: name, dtype: dtype, shape: shape, bytes: output)
    }

    /// `('storage', torch.FloatStorage, '0', 'cpu', 1234)`
    static func persistentLoad(_ persistentID: PickleValue, file: String) throws -> PickleValue {
        guard case let .tuple(fields) = persistentID, fields.count >= 5, case .string("storage") = fields[0] else {
            throw CheckpointError(file: file, "data.pkl: persistent id \(persistentID.typeName) is not a ('storage', type, key, location, numel) tuple")
        }
        guard case let .global(_, typeName) = fields[1], let dtype = storageTypes[typeName] else {
            throw CheckpointError(file: file, "data.pkl: storage type \(fields[1].typeName) is not supported (known: \(storageTypes.keys.sorted().joined(separator: ", ")))")
        }
        guard case let .string(key) = fields[2], case let .int(count) = fields[4], count >= 0 else {
            throw CheckpointError(file: file, "data.pkl: storage reference needs a string key and a non-negative element count")
        }
        return .custom(AnyObjectBox(StorageReference(key: key, dtype: dtype, elementCount: Int(count))))
    }

    /// What the calls in a state_dict pickle mean. Anything else is rejected by name.
    static func reduce(_ callable: PickleValue, _ arguments: [PickleValue]) throws -> PickleValue {
        guard case let .global(module, name) = callable else {
            throw CheckpointError(file: "data.pkl", "call of a \(callable.typeName), expected a named callable")
        }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"), ("collections", "defaultdict"):
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            guard arguments.count >= 4, case let .custom(box) = arguments[0], let storage = box.value as? StorageReference,
                  case let .int(offset) = arguments[1], let shape = integers(arguments[2]), let strides = integers(arguments[3]) else {
                throw CheckpointError(file: "data.pkl", "\(module).\(name) called with unexpected arguments \(arguments.map(\.typeName))")
            }
            return .custom(AnyObjectBox(TensorReference(storage: storage, offset: Int(offset), shape: shape, strides: strides)))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let data = arguments.first, case .custom = data else {
                throw CheckpointError(file: "data.pkl", "\(module).\(name) called without a tensor")
            }
            return data
        default:
            if opaqueCallables.contains(module + "." + name) { return .opaque(module + "." + name) }
            throw CheckpointError(file: "data.pkl", "call of \(module).\(name) is not part of a plain state_dict; refusing to interpret it")
        }
    }

    static func integers(_ value: PickleValue) -> [Int]? {
        guard case let .tuple(elements) = value else { return nil }
        var result: [Int] = []
        for element in elements {
            guard case let .int(number) = element else { return nil }
            result.append(Int(number))
        }
        return result
    }
}
