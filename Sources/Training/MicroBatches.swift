/// Gradient accumulation (`microBatches`): each rank's slice of the global batch goes through forward and
/// backward in k consecutive micro-batches whose gradients add up, so a global batch fits any memory. The
/// gradient is the same as in one piece up to float rounding (each sample's loss keeps its weight 1/B).
/// BatchNorm in training normalises with each micro-batch's statistics (synchronised BatchNorm: the
/// micro-batch's over all ranks), so a BatchNorm net trains another model with k > 1; nets without BatchNorm
/// follow the same trajectory up to rounding.
public enum MicroBatches {
    /// The sizes of the k micro-batches of `count` samples: as equal as possible, the larger ones first.
    public static func sizes(of count: Int, into k: Int, rank: Int) throws -> [Int] {
        guard k >= 1 else { throw ConfigurationError.invalid(["microBatches must be at least 1, got \(k)"]) }
        guard k <= count else {
            throw ConfigurationError.invalid(["microBatches \(k) is more than the \(count) image(s) of rank \(rank)'s slice of the global batch"])
        }
        return (0..<k).map { count / k + ($0 < count % k ? 1 : 0) }
    }
}
