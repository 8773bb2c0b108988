import Datasets
import Network
import Seeding

/// A deterministic random dataset shaped for a model (pixels uniform in 0...255, labels uniform over the
/// classes), so that the meta-training bench runs the real `MetaTraining.ModelInnerProblem` without reading
/// files.
enum SyntheticDataset {
    static func make(for model: Model, count: Int, seed: UInt64) throws -> Dataset {
        var generator = SplitMix64(seed: seed)
        let shape = model.inputShape
        let images = (0..<(count * shape.reduce(1, *))).map { _ in Float(generator.next() % 256) }
        let labels = (0..<count).map { _ in Int32(generator.next() % UInt64(model.classCount)) }
        return try Dataset(name: "synthetic", images: images, labels: labels, channels: shape[0], height: shape[1],
                           width: shape[2], classCount: model.classCount, pixelMaximum: 255)
    }
}
