import Checkpoints
import Network

/// Moves a model's tensors to and from files, by PyTorch name: pretrained weights in (.pth or safetensors),
/// checkpoints out (safetensors). Every mismatch is an error that names the file and lists the tensors.
public enum ModelWeights {
    /// Loads every parameter and buffer of `model` from `path` (format detected from the file's bytes).
    /// - Parameter skipping: names not to load (a classification head that is re-initialised for a new label
    ///   set); they may be absent from the file or have another shape.
    public static func load(into model: Model, from path: String, skipping: Set<String> = []) throws {
        let (file, _) = try TensorFileLoader.load(path)
        try load(into: model, from: file, source: path, skipping: skipping)
    }

    /// Loads from an already-read tensor file.
    public static func load(into model: Model, from file: TensorFile, source: String, skipping: Set<String> = []) throws {
        let file = withoutDataParallelPrefix(file, model: model)
        try requireFinite(file, source: source, skipping: skipping)
        let stores = [model.parameters, model.buffers]
        let expected = stores.flatMap { store in store.entries.map(\.name) }.filter { !skipping.contains($0) }
        let present = Set(file.names)
        let missing = expected.filter { !present.contains($0) }
        let known = Set(stores.flatMap { store in store.entries.map(\.name) })
        let unknown = file.names.filter { !known.contains($0) }
        guard missing.isEmpty && unknown.isEmpty else {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing tensor(s) \(missing.joined(separator: ", "))") }
            if !unknown.isEmpty { parts.append("unknown tensor(s) \(unknown.joined(separator: ", "))") }
            throw TrainingError.checkpoint("\(source) does not fit model \(model.name): \(parts.joined(separator: "; "))")
        }
        var shapeErrors: [String] = []
        for store in stores {
            for entry in store.entries where !skipping.contains(entry.name) {
                guard let tensor = file[entry.name] else { continue }
                // PyTorch keeps num_batches_tracked as an int64 scalar; the store keeps it as a Float of shape [].
                let shapeFits = tensor.shape == entry.shape || (tensor.elementCount == entry.count && entry.count == 1)
                guard shapeFits else {
                    shapeErrors.append("\(entry.name): file has \(tensor.shape), model expects \(entry.shape)")
                    continue
                }
                let values: [Float]
                if let integers = tensor.int64s() { values = integers.map { Float($0) } } else { values = tensor.floats() }
                let target = store.values(of: entry)
                for index in 0..<entry.count { target[index] = values[index] }
            }
        }
        guard shapeErrors.isEmpty else {
            let headOnly = shapeErrors.allSatisfy { error in model.headParameterNames.contains { error.hasPrefix($0 + ":") } }
            let hint = headOnly ? " (another class count: head: reinit re-initialises the classification head)" : ""
            throw TrainingError.checkpoint("\(source) does not fit model \(model.name): " + shapeErrors.joined(separator: "; ") + hint)
        }
    }

    /// Refuses a file whose floating-point tensors hold NaN or infinity (naming the first such tensor): training
    /// from them gives NaN at the first step, and a meta-trained optimizer with them gives NaN step sizes.
    public static func requireFinite(_ file: TensorFile, source: String, skipping: Set<String> = []) throws {
        for tensor in file.tensors where tensor.dtype.isFloatingPoint && !skipping.contains(tensor.name) {
            let values = tensor.floats()
            let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            guard bad == 0 else {
                throw TrainingError.checkpoint("\(source): tensor \(tensor.name) holds \(bad) NaN or infinite value(s) of \(values.count); refusing to load it")
            }
        }
    }

    /// DistributedDataParallel and DataParallel save their wrapped model's tensors as `module.<name>`; such a
    /// file loads under the plain names (only when every name has the prefix and the model's names do not).
    static func withoutDataParallelPrefix(_ file: TensorFile, model: Model) -> TensorFile {
        let prefix = "module."
        guard !file.tensors.isEmpty, file.names.allSatisfy({ $0.hasPrefix(prefix) }),
              !model.parameters.entries.contains(where: { $0.name.hasPrefix(prefix) }) else { return file }
        let renamed = file.tensors.map { tensor in
            var plain = tensor
            plain.name = String(tensor.name.dropFirst(prefix.count))
            return plain
        }
        return TensorFile(tensors: renamed, metadata: file.metadata)
    }

    /// The model's parameters and buffers as a tensor file, in layer-table order, under PyTorch names
    /// (num_batches_tracked as int64, as PyTorch writes it).
    public static func tensorFile(of model: Model, metadata: [String: String] = [:]) -> TensorFile {
        var tensors: [NamedTensor] = []
        for store in [model.parameters, model.buffers] {
            for entry in store.entries {
                let values = Array(store.values(of: entry))
                if entry.kind == .batchCount {
                    tensors.append(NamedTensor(name: entry.name, shape: entry.shape, int64s: values.map { Int64($0) }))
                } else {
                    tensors.append(NamedTensor(name: entry.name, shape: entry.shape, floats: values))
                }
            }
        }
        var meta = metadata
        meta["model"] = model.name
        return TensorFile(tensors: tensors, metadata: meta)
    }

    /// Writes the model as safetensors, atomically.
    public static func save(_ model: Model, to path: String, metadata: [String: String] = [:]) throws {
        try Safetensors.write(tensorFile(of: model, metadata: metadata), to: path)
    }
}
