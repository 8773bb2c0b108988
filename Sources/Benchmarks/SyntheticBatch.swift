import Network
import Seeding

/// A deterministic random batch for a model: inputs uniform in [−1, 1), labels uniform over the classes.
/// Benchmarks time the kernels, not the data, so no files are read.
public struct SyntheticBatch {
    public let input: Tensor
    public let labels: [Int]

    public init(shape: [Int], classCount: Int, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let tensor = Tensor(shape: shape)
        for i in 0..<tensor.count { tensor[i] = generator.nextFloat(in: -1, 1) }
        input = tensor
        labels = (0..<shape[0]).map { _ in Int(generator.next() % UInt64(classCount)) }
    }

    public init(model: Model, batch: Int, seed: UInt64) {
        self.init(shape: [batch] + model.inputShape, classCount: model.classCount, seed: seed)
    }

    /// A given batch (the real images of a `BatchFile`, for the comparison with PyTorch).
    public init(input: Tensor, labels: [Int]) {
        self.input = input
        self.labels = labels
    }
}
