/// One flat Float buffer holding every tensor of a model, one flat gradient buffer of the same size, and
/// the layer table (`entries`) that says where each named tensor lives.
///
/// A single allocation makes the bucketed allreduce, per-layer optimiser features, parameter hashes and
/// checkpoints simple loops over (offset, count) ranges. The store has two phases: while a model is being
/// built, layers `register` their tensors (offsets are handed out immediately); then `allocate()` creates
/// both buffers exactly once. The same type holds the non-trainable BatchNorm "buffers" (running statistics)
/// in a second store created with `tracksGradients: false`.
public final class ParameterStore {
    /// The layer table, in registration order (PyTorch's state_dict order for the built-in models).
    public private(set) var entries: [ParameterEntry] = []
    /// Total number of scalars over all entries.
    public private(set) var count: Int = 0
    /// Whether a gradient buffer is kept (false for BatchNorm running statistics).
    public let tracksGradients: Bool

    private var indexByName: [String: Int] = [:]
    private var valueStorage: UnsafeMutableBufferPointer<Float>?
    private var gradientStorage: UnsafeMutableBufferPointer<Float>?

    public init(tracksGradients: Bool = true) {
        self.tracksGradients = tracksGradients
    }

    deinit {
        valueStorage?.deallocate()
        gradientStorage?.deallocate()
    }

    /// True once `allocate()` has run; no more entries can be registered after that.
    public var isAllocated: Bool { valueStorage != nil }

    /// Adds a named tensor to the layer table and returns its entry. Names must be unique.
    @discardableResult
    public func register(name: String, shape: [Int], kind: ParameterKind, fanIn: Int = 0) -> ParameterEntry {
        precondition(!isAllocated, "register(\(name)) after allocate()")
        precondition(indexByName[name] == nil, "duplicate parameter name \(name)")
        let entry = ParameterEntry(name: name, offset: count, shape: shape, kind: kind, fanIn: fanIn)
        indexByName[name] = entries.count
        entries.append(entry)
        count += entry.count
        return entry
    }

    /// Allocates the zero-filled value (and gradient) buffers, once.
    public func allocate() {
        precondition(!isAllocated, "allocate() called twice")
        valueStorage = Self.zeroed(count)
        if tracksGradients { gradientStorage = Self.zeroed(count) }
    }

    private static func zeroed(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        buffer.initialize(repeating: 0)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }

    /// The whole flat value buffer.
    public var values: UnsafeMutableBufferPointer<Float> {
        guard let valueStorage else { preconditionFailure("ParameterStore used before allocate()") }
        return valueStorage
    }

    /// The whole flat gradient buffer (same size and layout as `values`).
    public var gradients: UnsafeMutableBufferPointer<Float> {
        guard let gradientStorage else {
            preconditionFailure(tracksGradients ? "ParameterStore used before allocate()" : "this store keeps no gradients")
        }
        return gradientStorage
    }

    /// The entry with PyTorch name `name`, if any.
    public func entry(named name: String) -> ParameterEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The values of one entry, a view into the flat buffer.
    public func values(of entry: ParameterEntry) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: values[entry.range])
    }

    /// The gradients of one entry, a view into the flat gradient buffer.
    public func gradients(of entry: ParameterEntry) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: gradients[entry.range])
    }

    /// Runs `body` with `values` (and `gradients`, when given) standing in for the store's own buffers, which
    /// are left as they were: a caller that keeps parameters elsewhere (meta-training's inner runs) computes a
    /// loss and gradient at them without copying them in and the gradient out. Forward and backward only read
    /// the values, so `values` is not written.
    public func borrowing<Result>(values: UnsafeBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>? = nil,
                                  _ body: () throws -> Result) rethrows -> Result {
        precondition(values.count == count && (gradients?.count ?? count) == count, "borrowed buffers must have \(count) values")
        let (ownValues, ownGradients) = (valueStorage, gradientStorage)
        defer { (valueStorage, gradientStorage) = (ownValues, ownGradients) }
        valueStorage = UnsafeMutableBufferPointer(mutating: values)
        if let gradients {
            precondition(tracksGradients, "this store keeps no gradients")
            gradientStorage = gradients
        }
        return try body()
    }

    /// Sets every gradient to zero; layers accumulate into the gradient buffer, so call this once per step.
    public func zeroGradients() {
        guard let gradientStorage, let base = gradientStorage.baseAddress else { return }
        base.update(repeating: 0, count: gradientStorage.count)
    }
}
