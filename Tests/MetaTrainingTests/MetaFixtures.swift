import Datasets
import Distributed
import Foundation
import LearnedOptimizer
import MetaTraining
import Network
import Seeding

/// Small, deterministic meta-training set-ups for the tests: a 64→16→10 MLP (no BatchNorm, so shards of a
/// batch give exactly the global gradient's terms) on synthetic 8×8 "images" of ten noisy class prototypes.
enum MetaFixtures {
    /// Ten prototypes plus seeded noise; learnable but not trivially.
    static func syntheticDataset(count: Int, seed: UInt64) throws -> Dataset {
        var generator = SplitMix64(seed: 99)
        let prototypes = (0..<10).map { _ in (0..<64).map { _ in generator.nextFloat(in: -1, 1) } }
        generator = SplitMix64(seed: seed)
        var images: [Float] = []
        var labels: [Int32] = []
        for index in 0..<count {
            let label = index % 10
            labels.append(Int32(label))
            images += prototypes[label].map { $0 + generator.nextFloat(in: -1.2, 1.2) }
        }
        return try Dataset(name: "synthetic", images: images, labels: labels, channels: 1, height: 8, width: 8,
                           classCount: 10, pixelMaximum: 1)
    }

    static func model() -> Model {
        ModelZoo.mlp(inputShape: [1, 8, 8], hiddenWidths: [16], classCount: 10, seed: 7)
    }

    static func configuration(order: MetaGradientOrder = .firstOrder) -> MetaTrainingConfiguration {
        var c = MetaTrainingConfiguration()
        c.weights = "(in memory)"
        c.globalBatch = 16
        c.validationBatch = 16
        c.truncation = 3
        c.horizon = 12
        c.innerRuns = 2
        c.order = order
        c.baseLearningRate = 3e-3
        return c
    }

    static func trainer(_ configuration: MetaTrainingConfiguration, communicator: any Communicator) throws -> MetaTrainer {
        try MetaTrainer(configuration: configuration, communicator: communicator, model: model(),
                        trainSet: try syntheticDataset(count: 320, seed: 1),
                        validationSet: try syntheticDataset(count: 96, seed: 2))
    }

    /// ‖a − b‖ / ‖b‖.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            difference += (Double(x) - Double(y)) * (Double(x) - Double(y))
            norm += Double(y) * Double(y)
        }
        return (difference / max(norm, 1e-300)).squareRoot()
    }
}
