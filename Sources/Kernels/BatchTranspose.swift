/// Moves a batch of feature maps between the image-major layout the layers exchange, (N, C, P), and the
/// channel-major layout one batched sgemm produces and consumes, (C, N·P).
///
/// Conv2d computes the whole batch as W (out, C·kh·kw) · columns (C·kh·kw, N·P), whose result is channel-major;
/// these copies are what the single large sgemm costs over N small ones (one read and one write of the
/// output), much less than the small sgemms lose to their packing overheads on small feature maps.
public enum BatchTranspose {
    /// source: (C, N·P) → target: (N, C, P), adding `bias[c]` to channel c when given (Conv2d's bias, fused
    /// into the copy so the output is written once). `images` limits the copy to some of the batch's images
    /// (the pieces `WorkerPool` tasks run; default: all).
    @inlinable
    public static func channelMajorToImageMajor(
        _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
        channels: Int, batch: Int, positions: Int, bias: UnsafePointer<Float>? = nil, images: Range<Int>? = nil
    ) {
        let span = batch * positions
        for n in images ?? 0..<batch {
            for c in 0..<channels {
                let from = source + c * span + n * positions
                let to = target + (n * channels + c) * positions
                if let bias {
                    let b = bias[c]
                    for p in 0..<positions { to[p] = from[p] + b }
                } else {
                    to.update(from: from, count: positions)
                }
            }
        }
    }

    /// source: (N, C, P) → target: (C, N·P), for `images` of the batch (default: all).
    @inlinable
    public static func imageMajorToChannelMajor(
        _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
        channels: Int, batch: Int, positions: Int, images: Range<Int>? = nil
    ) {
        let span = batch * positions
        for n in images ?? 0..<batch {
            for c in 0..<channels {
                (target + c * span + n * positions).update(from: source + (n * channels + c) * positions, count: positions)
            }
        }
    }
}
