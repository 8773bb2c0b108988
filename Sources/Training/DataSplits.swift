import Datasets
import Foundation
import Network
import Seeding

/// The train and test splits a run uses, prepared for its backbone. Datasets without a test split of their
/// own (mnist-5k, animal-mnist, digits) get a seeded 80/20 split that is the same on every rank and run.
public enum DataSplits {
    /// Seed of the train/test split of single-split datasets (fixed, so every run sees the same test set).
    public static let testSplitSeed: UInt64 = 20_240_818

    public static func load(_ name: String, dataDirectory: String, for model: Model, resize: Bool) throws
        -> (train: Dataset, test: Dataset) {
        let descriptor = try DatasetRegistry.descriptor(named: name)
        let train: Dataset, test: Dataset
        if descriptor.splits.contains(.test) {
            try requireUserTestSplit(descriptor)
            train = try DatasetCache.load(name, split: .train, dataDirectory: dataDirectory, imageShape: model.inputShape)
            test = try DatasetCache.load(name, split: .test, dataDirectory: dataDirectory, imageShape: model.inputShape)
        } else {
            let all = try DatasetCache.load(name, split: .all, dataDirectory: dataDirectory, imageShape: model.inputShape)
            (train, test) = try all.split(validationFraction: 0.2, seed: testSplitSeed)
        }
        return (try InputPipeline.prepare(train, for: model, resize: resize),
                try InputPipeline.prepare(test, for: model, resize: resize))
    }

    /// The classes a model for `name` needs: the registry's count, or for user data (npy:, whose count comes
    /// from its labels) the training split's.
    public static func classCount(_ name: String, dataDirectory: String) throws -> Int {
        let descriptor = try DatasetRegistry.descriptor(named: name)
        if descriptor.classCount > 0 { return descriptor.classCount }
        let split: DatasetSplit = descriptor.splits.contains(.train) ? .train : .all
        return try DatasetRegistry.load(name, split: split, dataDirectory: dataDirectory).classCount
    }

    /// An npy: folder's test files are optional (meta-training and evaluationSplit validation never read them),
    /// so their absence is said as that, not as missing downloaded data.
    private static func requireUserTestSplit(_ descriptor: DatasetDescriptor) throws {
        guard descriptor.name.hasPrefix("npy:"), let files = descriptor.files[.test],
              let missing = files.first(where: { !FileManager.default.fileExists(atPath: $0) }) else { return }
        throw DatasetError(file: missing, "no such file; an npy: folder's test files are optional, but this run evaluates on the test split: add \(files.joined(separator: " and ")), or set evaluationSplit: validation")
    }

    /// Only the training split, prepared for the backbone: what meta-training reads, so its meta-validation
    /// batches (held out of this split) can never come from the test set. Single-split datasets give the
    /// training part of the same fixed split `load` uses.
    public static func loadTraining(_ name: String, dataDirectory: String, for model: Model, resize: Bool) throws -> Dataset {
        let descriptor = try DatasetRegistry.descriptor(named: name)
        let train: Dataset
        if descriptor.splits.contains(.test) {
            train = try DatasetCache.load(name, split: .train, dataDirectory: dataDirectory, imageShape: model.inputShape)
        } else {
            let all = try DatasetCache.load(name, split: .all, dataDirectory: dataDirectory, imageShape: model.inputShape)
            train = try all.split(validationFraction: 0.2, seed: testSplitSeed).train
        }
        return try InputPipeline.prepare(train, for: model, resize: resize)
    }

    /// The splits a run trains and evaluates on: `load`'s for evaluationSplit test; for evaluationSplit
    /// validation, the training split divided as meta-training divides it (same seed derivation), so the test
    /// split is never read.
    /// `evaluationLimit` > 0 keeps only that many images of the evaluation split, spread evenly over it (the
    /// split of a class-sorted dataset keeps its class order).
    public static func load(for configuration: TrainingConfiguration, model: Model) throws -> (train: Dataset, evaluation: Dataset) {
        var train: Dataset, evaluation: Dataset
        if configuration.evaluationSplit == .validation {
            let training = try loadTraining(configuration.data, dataDirectory: configuration.dataDirectory, for: model,
                                            resize: configuration.resize)
            (train, evaluation) = try training.split(validationFraction: configuration.validationFraction,
                                                     seed: validationSplitSeed(configuration.validationSeed))
        } else {
            (train, evaluation) = try load(configuration.data, dataDirectory: configuration.dataDirectory, for: model,
                                           resize: configuration.resize)
        }
        if configuration.evaluationLimit > 0 && evaluation.count > configuration.evaluationLimit {
            evaluation = evaluation.evenlySpread(limit: configuration.evaluationLimit)
        }
        return (train, evaluation)
    }

    /// The seed of the held-out validation split for a run or meta-training seed ("MV" stream).
    public static func validationSplitSeed(_ seed: UInt64) -> UInt64 {
        SplitMix64.derivedSeed(seed, stream: 0x4D56)
    }
}
