import Seeding

/// Seeded reordering and splitting: the same seed gives the same order on every rank and every run.
extension Dataset {
    /// The dataset in a seeded random order.
    public func shuffled(seed: UInt64) -> Dataset {
        var generator = SplitMix64(seed: seed, stream: 0x5348_5546) // "SHUF"
        return subset(generator.permutation(count))
    }

    /// Splits into a training part and a meta-validation part of `validationCount` samples, chosen by a
    /// seeded permutation. Both parts keep the dataset's original sample order, so the split does not also
    /// shuffle (the sampler does that, per epoch).
    public func split(validationCount: Int, seed: UInt64) throws -> (train: Dataset, validation: Dataset) {
        guard validationCount > 0, validationCount < count else {
            throw DatasetError(file: name, "validation count \(validationCount) must be in 1..<\(count) (the dataset size)")
        }
        var generator = SplitMix64(seed: seed, stream: 0x5350_4C54) // "SPLT"
        let order = generator.permutation(count)
        let validation = order[..<validationCount].sorted()
        let train = order[validationCount...].sorted()
        return (subset(train), subset(validation))
    }

    /// `split(validationCount:seed:)` with the count given as a fraction of the dataset, rounded.
    public func split(validationFraction: Double, seed: UInt64) throws -> (train: Dataset, validation: Dataset) {
        guard validationFraction > 0, validationFraction < 1 else {
            throw DatasetError(file: name, "validation fraction \(validationFraction) must be strictly between 0 and 1")
        }
        return try split(validationCount: max(1, Int((Double(count) * validationFraction).rounded())), seed: seed)
    }
}
