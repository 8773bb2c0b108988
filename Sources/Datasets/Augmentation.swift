import Seeding

/// Training-time augmentation: random crop after zero padding, and random horizontal flip.
///
/// Off by default (fine-tuning digit-like images, a flip changes a class). Decisions are drawn from
/// (seed, epoch, sample index), not from a running generator, so a sample is augmented the same way
/// whichever rank holds it and however many ranks there are.
public struct Augmentation: Sendable, Equatable {
    /// Pixels of zero padding on each side before cropping back to the original size; 0 disables cropping.
    public var cropPadding: Int
    /// Flip each image left-right with probability 1/2.
    public var horizontalFlip: Bool
    public var seed: UInt64

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, seed: UInt64 = 0) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.seed = seed
    }

    public static let none = Augmentation()

    public var isEnabled: Bool { cropPadding > 0 || horizontalFlip }

    /// Augments a batch in place.
    /// - Parameters:
    ///   - sampleIndices: the dataset index of each sample in the batch (what makes decisions rank-independent).
    public func apply(to batch: inout Batch, sampleIndices: [Int], epoch: Int) {
        precondition(sampleIndices.count == batch.count, "one sample index per batch element")
        let (channels, height, width) = (batch.channels, batch.height, batch.width)
        batch.images.withUnsafeMutableBufferPointer { images in
            apply(to: images, channels: channels, height: height, width: width, sampleIndices: sampleIndices, epoch: epoch)
        }
    }

    /// Augments images (B, C, H, W) in place in a caller's buffer (the trainer's input tensor).
    public func apply(to images: UnsafeMutableBufferPointer<Float>, channels: Int, height: Int, width: Int,
                      sampleIndices: some Collection<Int>, epoch: Int) {
        precondition(images.count >= sampleIndices.count * channels * height * width, "one image per sample index")
        guard isEnabled else { return }
        let plane = height * width
        var scratch = [Float](repeating: 0, count: plane)
        for (slot, sample) in sampleIndices.enumerated() {
            var generator = SplitMix64(seed: seed, stream: UInt64(epoch), UInt64(sample))
            // Offsets into the padded image: 0...2·padding, where `padding` is the identity.
            let shiftY = cropPadding > 0 ? generator.uniform(below: 2 * cropPadding + 1) - cropPadding : 0
            let shiftX = cropPadding > 0 ? generator.uniform(below: 2 * cropPadding + 1) - cropPadding : 0
            let flip = horizontalFlip && generator.next() & 1 == 1
            if shiftX == 0 && shiftY == 0 && !flip { continue }
            for channel in 0..<channels {
                let image = images.baseAddress! + (slot * channels + channel) * plane
                for y in 0..<height {
                    let sourceY = y + shiftY
                    for x in 0..<width {
                        let croppedX = x + shiftX
                        let sourceX = flip ? width - 1 - croppedX : croppedX
                        let inside = sourceY >= 0 && sourceY < height && sourceX >= 0 && sourceX < width
                        scratch[y * width + x] = inside ? image[sourceY * width + sourceX] : 0
                    }
                }
                scratch.withUnsafeBufferPointer { image.update(from: $0.baseAddress!, count: plane) }
            }
        }
    }
}
