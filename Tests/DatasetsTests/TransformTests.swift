import TestSupport
import XCTest
@testable import Datasets

final class TransformTests: XCTestCase {
    /// Four 1×2×2 images with labels 0..3; image i holds values 4i..4i+3.
    func makeDataset(count: Int = 4, classCount: Int = 10) throws -> Dataset {
        try Dataset(name: "toy", images: (0..<(count * 4)).map(Float.init), labels: (0..<count).map { Int32($0 % classCount) },
                    channels: 1, height: 2, width: 2, classCount: classCount, pixelMaximum: 255)
    }

    func testDatasetValidation() throws {
        assertError(try Dataset(name: "bad", images: [0, 1, 2], labels: [0], channels: 1, height: 2, width: 2, classCount: 2, pixelMaximum: 1),
                           mentions: ["bad", "3 pixel values"])
        assertError(try Dataset(name: "bad", images: [0, 1, 2, 3], labels: [-1], channels: 1, height: 2, width: 2, classCount: 2, pixelMaximum: 1),
                           mentions: ["label 0", "value -1", "0..<2"])
    }

    func testScaleAndNormalise() throws {
        let scaled = try makeDataset().scaledToUnitRange()
        XCTAssertEqual(scaled.pixelMaximum, 1)
        XCTAssertEqual(scaled.images[15], 15 / 255, accuracy: 1e-7)
        let normalised = try scaled.normalized(mean: [0.1307], std: [0.3081])
        XCTAssertEqual(normalised.images[15], (15 / 255 - 0.1307) / 0.3081, accuracy: 1e-6)
        let colour = try scaled.expandingGrey(toChannels: 3)
        XCTAssertEqual(colour.imageShape, [3, 2, 2])
        XCTAssertEqual(Array(colour.images[0..<12]), Array(scaled.images[0..<4]) + Array(scaled.images[0..<4]) + Array(scaled.images[0..<4]))
        let perChannel = try colour.normalized(mean: [0, 1, 2], std: [1, 2, 4])
        XCTAssertEqual(perChannel.images[4 + 1], (scaled.images[1] - 1) / 2, accuracy: 1e-7)
        XCTAssertEqual(perChannel.images[8 + 3], (scaled.images[3] - 2) / 4, accuracy: 1e-7)
        assertError(try colour.normalized(mean: [0, 1], std: [1, 1]), mentions: ["2 means", "3 channel"])
    }

    func testBilinearResizeMatchesPyTorch() throws {
        let square = try Dataset(name: "sq", images: [0, 1, 2, 3], labels: [0], channels: 1, height: 2, width: 2, classCount: 1, pixelMaximum: 3)
        // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
        let expected: [Float] = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]
        let up = try square.resized(height: 4, width: 4)
        XCTAssertEqual(up.imageShape, [1, 4, 4])
        for (got, want) in zip(up.images, expected) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        // 28 → 16 on a constant image stays constant; on a horizontal ramp it stays monotonic.
        let ramp = try Dataset(name: "ramp", images: (0..<784).map { Float($0 % 28) }, labels: [0], channels: 1, height: 28, width: 28, classCount: 1, pixelMaximum: 27)
        let down = try ramp.resized(height: 16, width: 16)
        XCTAssertEqual(down.images.count, 256)
        for x in 1..<16 { XCTAssertGreaterThan(down.images[x], down.images[x - 1]) }
        XCTAssertEqual(down.images[0], down.images[16 * 15])
        let digits = try Dataset(name: "d", images: Array(repeating: 5, count: 64), labels: [0], channels: 1, height: 8, width: 8, classCount: 1, pixelMaximum: 16)
        XCTAssertEqual(try digits.resized(height: 28, width: 28).images, Array(repeating: 5, count: 784))
    }

    func testShuffleAndSplitAreSeeded() throws {
        let data = try makeDataset(count: 100, classCount: 100)
        let once = data.shuffled(seed: 7), again = data.shuffled(seed: 7), other = data.shuffled(seed: 8)
        XCTAssertEqual(once, again)
        XCTAssertNotEqual(once.labels, other.labels)
        XCTAssertEqual(once.labels.sorted(), data.labels)
        // The image moves with its label.
        let label = Int(once.labels[0])
        XCTAssertEqual(Array(once.images[0..<4]), (0..<4).map { Float(label * 4 + $0) })

        let (train, validation) = try data.split(validationCount: 20, seed: 3)
        let (trainAgain, validationAgain) = try data.split(validationCount: 20, seed: 3)
        XCTAssertEqual(train, trainAgain)
        XCTAssertEqual(validation, validationAgain)
        XCTAssertEqual(validation.count, 20)
        XCTAssertEqual(Set(train.labels).union(validation.labels), Set(data.labels))
        XCTAssertTrue(Set(train.labels).isDisjoint(with: validation.labels))
        XCTAssertNotEqual(try data.split(validationCount: 20, seed: 4).validation.labels, validation.labels)
        XCTAssertEqual(try data.split(validationFraction: 0.1, seed: 3).validation.count, 10)
        assertError(try data.split(validationCount: 100, seed: 1), mentions: ["1..<100"])
    }

    func testAugmentation() throws {
        let data = try Dataset(name: "a", images: (0..<(3 * 16)).map { Float($0 + 1) }, labels: [0, 1, 2], channels: 1, height: 4, width: 4, classCount: 3, pixelMaximum: 255)
        var untouched = data.gather([0, 1, 2])
        Augmentation.none.apply(to: &untouched, sampleIndices: [0, 1, 2], epoch: 0)
        XCTAssertEqual(untouched.images, data.images)

        let flipOnly = Augmentation(horizontalFlip: true, seed: 1)
        var flipped = data.gather([0, 1, 2])
        flipOnly.apply(to: &flipped, sampleIndices: [0, 1, 2], epoch: 0)
        for sample in 0..<3 {
            let original = Array(data.images[(sample * 16)..<((sample + 1) * 16)])
            let result = Array(flipped.images[(sample * 16)..<((sample + 1) * 16)])
            let mirrored: [Float] = (0..<16).map { (index: Int) -> Float in
                let row = index / 4, column = index % 4
                return original[row * 4 + 3 - column]
            }
            XCTAssertTrue(result == original || result == mirrored)
        }
        // Same sample, same epoch: same result whatever batch it sits in (rank independence).
        let crop = Augmentation(cropPadding: 1, horizontalFlip: true, seed: 5)
        var alone = data.gather([2])
        crop.apply(to: &alone, sampleIndices: [2], epoch: 3)
        var together = data.gather([0, 2])
        crop.apply(to: &together, sampleIndices: [0, 2], epoch: 3)
        XCTAssertEqual(alone.images, Array(together.images[16...]))
        // Cropping keeps pixel values from the image or zero padding.
        XCTAssertTrue(alone.images.allSatisfy { $0 == 0 || data.images[32..<48].contains($0) })
        // Different epochs give different augmentations for at least one of many samples.
        let many = try Dataset(name: "m", images: (0..<(50 * 16)).map { Float($0 % 16 + 1) }, labels: Array(repeating: 0, count: 50), channels: 1, height: 4, width: 4, classCount: 1, pixelMaximum: 255)
        var epochZero = many.gather(Array(0..<50)), epochOne = many.gather(Array(0..<50))
        crop.apply(to: &epochZero, sampleIndices: Array(0..<50), epoch: 0)
        crop.apply(to: &epochOne, sampleIndices: Array(0..<50), epoch: 1)
        XCTAssertNotEqual(epochZero.images, epochOne.images)
    }

    /// The trainer's allocation-free gather (into its input tensor, labels as Int, indices a slice of the
    /// epoch order) and in-place augmentation give exactly what `gather` and `apply(to: &batch)` give.
    func testGatherIntoBuffersEqualsGather() throws {
        let data = try Dataset(name: "g", images: (0..<(6 * 2 * 9)).map { Float($0 % 23) }, labels: [0, 1, 2, 0, 1, 2], channels: 2,
                               height: 3, width: 3, classCount: 3, pixelMaximum: 255)
        let order = [5, 2, 4, 0, 1, 3]
        let indices = order[1..<5]
        var expected = data.gather(Array(indices))
        var images = [Float](repeating: -1, count: indices.count * data.imageSize)
        var labels = [Int](repeating: -1, count: indices.count)
        images.withUnsafeMutableBufferPointer { data.gather(indices, into: $0, labels: &labels) }
        XCTAssertEqual(images, expected.images)
        XCTAssertEqual(labels, expected.labels.map { Int($0) })

        let augmentation = Augmentation(cropPadding: 1, horizontalFlip: true, seed: 9)
        augmentation.apply(to: &expected, sampleIndices: Array(indices), epoch: 2)
        images.withUnsafeMutableBufferPointer {
            augmentation.apply(to: $0, channels: 2, height: 3, width: 3, sampleIndices: indices, epoch: 2)
        }
        XCTAssertEqual(images, expected.images)
        XCTAssertNotEqual(images, data.gather(Array(indices)).images, "the augmentation changed something")
    }
}
