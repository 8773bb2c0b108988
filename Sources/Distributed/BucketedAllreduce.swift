/// Averages a flat gradient buffer across ranks in buckets of a fixed order, so that the reduction of the
/// last layers (whose gradients the backward pass finishes first) can start while earlier layers are still
/// being differentiated, as PyTorch DDP and Horovod do.
///
/// Buckets are built once from the layer table: consecutive layers, walked from the last to the first, are
/// grouped until a bucket holds at least `bucketElements` elements. Every rank builds the same buckets from
/// the same table, so the collectives match in number, order and size.
public final class BucketedAllreduce {
    /// A contiguous range of the flat buffer, reduced by one collective.
    public struct Bucket: Equatable, Sendable {
        public let range: Range<Int>
        /// Index of the lowest layer in the bucket: when the backward pass has finished that layer, the bucket
        /// is complete.
        public let firstLayer: Int
    }

    public let buckets: [Bucket]
    private let communicator: any Communicator
    private var pending: [any AllreduceRequest] = []
    private var nextBucket = 0

    /// - Parameters:
    ///   - layers: (offset, count) of each layer's slice in the flat buffer, in layer-table order. The slices
    ///     must be adjacent and increasing (the flat buffer's layout).
    public init(layers: [(offset: Int, count: Int)], bucketElements: Int, communicator: any Communicator) {
        precondition(bucketElements > 0, "bucketElements must be positive")
        var made: [Bucket] = []
        var end: Int? = nil
        var elements = 0
        for index in layers.indices.reversed() {
            let layer = layers[index]
            if end == nil { end = layer.offset + layer.count }
            elements += layer.count
            if elements >= bucketElements || index == 0 {
                made.append(Bucket(range: layer.offset..<end!, firstLayer: index))
                end = nil
                elements = 0
            }
        }
        buckets = made
        self.communicator = communicator
        pending.reserveCapacity(made.count)
    }

    /// Starts the reductions of every bucket whose layers are all at or above `finishedLayer`: call it as the
    /// backward pass completes each layer (from the last to the first). Also advances the buckets already in
    /// flight (see `AllreduceRequest.progress`).
    public func layerFinished(_ finishedLayer: Int, gradients: UnsafeMutableBufferPointer<Float>) throws {
        for request in pending { try request.progress() }
        while nextBucket < buckets.count && buckets[nextBucket].firstLayer >= finishedLayer {
            let range = buckets[nextBucket].range
            let slice = UnsafeMutableBufferPointer(rebasing: gradients[range])
            pending.append(try communicator.startAllreduce(slice, op: .mean))
            nextBucket += 1
        }
    }

    /// Starts whatever was not started yet and waits for every bucket: afterwards `gradients` holds the mean
    /// over ranks.
    public func finish(gradients: UnsafeMutableBufferPointer<Float>) throws {
        try layerFinished(0, gradients: gradients)
        for request in pending { try request.wait() }
        pending.removeAll(keepingCapacity: true)
        nextBucket = 0
    }

    /// The whole reduction with no overlap: start every bucket, then wait.
    public func reduce(gradients: UnsafeMutableBufferPointer<Float>) throws {
        try finish(gradients: gradients)
    }
}
