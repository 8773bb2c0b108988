/// Labelled images in memory, the one shape every reader produces and every transform consumes.
///
/// Images are Float in (N, C, H, W) row-major order, the layout the network's convolutions read. Labels are
/// Int32 class indices, checked against `classCount` when the dataset is made, so a bad label fails at load
/// time with the file's name instead of as an out-of-bounds read inside the loss.
public struct Dataset: Sendable, Equatable {
    public let name: String
    /// (N, C, H, W)
    public internal(set) var images: [Float]
    /// (N)
    public internal(set) var labels: [Int32]
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classCount: Int
    /// The largest value a pixel may take in `images` as they are now (255 for raw bytes, 16 for UCI digits,
    /// 1 after `scaledToUnitRange()`); normalisation needs it to know what "scaled" means.
    public let pixelMaximum: Float

    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }
    public var imageShape: [Int] { [channels, height, width] }

    /// Makes a dataset from Float images, validating sizes and labels.
    /// - Parameter labelSource: the file named in errors about labels.
    public init(name: String, images: [Float], labels: [Int32], channels: Int, height: Int, width: Int,
                classCount: Int, pixelMaximum: Float, labelSource: String? = nil) throws {
        let file = labelSource ?? name
        guard channels > 0, height > 0, width > 0 else {
            throw DatasetError(file: file, "image shape \(channels)×\(height)×\(width) must be positive")
        }
        guard classCount > 0 else { throw DatasetError(file: file, "class count \(classCount) must be positive") }
        guard images.count == labels.count * channels * height * width else {
            throw DatasetError(file: file, "\(images.count) pixel values do not make \(labels.count) images of \(channels)×\(height)×\(width)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
            throw DatasetError(file: file, location: "label \(bad)", "value \(labels[bad]) is outside 0..<\(classCount)")
        }
        self.name = name
        self.images = images
        self.labels = labels
        self.channels = channels
        self.height = height
        self.width = width
        self.classCount = classCount
        self.pixelMaximum = pixelMaximum
    }

    /// Makes a dataset from raw byte pixels (converted to Float without scaling).
    public init(name: String, pixels: [UInt8], pixelMaximum: Float, labels: [Int32], channels: Int, height: Int, width: Int,
                classCount: Int, labelSource: String? = nil) throws {
        var images = [Float](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { source in
            images.withUnsafeMutableBufferPointer { target in
                for index in 0..<source.count { target[index] = Float(source[index]) }
            }
        }
        try self.init(name: name, images: images, labels: labels, channels: channels, height: height, width: width,
                      classCount: classCount, pixelMaximum: pixelMaximum, labelSource: labelSource)
    }

    /// A copy with other images of the same count (used by transforms that change values or shape).
    func replacingImages(_ images: [Float], channels: Int? = nil, height: Int? = nil, width: Int? = nil, pixelMaximum: Float? = nil) -> Dataset {
        // The labels were already validated and the new image count is computed by the caller from the new shape.
        try! Dataset(name: name, images: images, labels: labels, channels: channels ?? self.channels,
                     height: height ?? self.height, width: width ?? self.width, classCount: classCount,
                     pixelMaximum: pixelMaximum ?? self.pixelMaximum)
    }

    /// `limit` samples spread evenly over the whole set (indices ⌊i·count/limit⌋), or the set itself when it
    /// holds no more. Why not the first `limit`: single-split datasets (mnist-5k, animal-mnist) are stored sorted
    /// by class and their seeded test split keeps that order, so a prefix would hold the first classes only.
    /// Deterministic, so every rank and run evaluates the same images.
    public func evenlySpread(limit: Int) -> Dataset {
        precondition(limit > 0, "evenlySpread: limit must be positive, got \(limit)")
        guard limit < count else { return self }
        return subset((0..<limit).map { $0 * count / limit })
    }

    /// The images and labels at `indices`, in that order, as a new dataset.
    public func subset(_ indices: [Int]) -> Dataset {
        let batch = gather(indices)
        return try! Dataset(name: name, images: batch.images, labels: batch.labels, channels: channels, height: height,
                            width: width, classCount: classCount, pixelMaximum: pixelMaximum)
    }

    /// Copies the samples at `indices` into one contiguous batch.
    /// - Precondition: every index is in 0..<count (the samplers guarantee it).
    public func gather(_ indices: [Int]) -> Batch {
        var batchImages = [Float](repeating: 0, count: indices.count * imageSize)
        batchImages.withUnsafeMutableBufferPointer { copyImages(indices, into: $0) }
        return Batch(images: batchImages, labels: indices.map { labels[$0] }, channels: channels, height: height, width: width)
    }

    /// `gather` into buffers the caller owns (a trainer's input tensor and label array), so a training step
    /// allocates nothing. `images` holds at least indices.count · imageSize floats; `labels` has one slot per index.
    public func gather(_ indices: some Collection<Int>, into images: UnsafeMutableBufferPointer<Float>, labels batchLabels: inout [Int]) {
        precondition(batchLabels.count == indices.count, "one label slot per sample")
        copyImages(indices, into: images)
        for (slot, index) in indices.enumerated() { batchLabels[slot] = Int(labels[index]) }
    }

    private func copyImages(_ indices: some Collection<Int>, into target: UnsafeMutableBufferPointer<Float>) {
        let size = imageSize
        precondition(target.count >= indices.count * size, "gather: \(target.count) floats cannot hold \(indices.count) images")
        images.withUnsafeBufferPointer { source in
            for (slot, index) in indices.enumerated() {
                precondition(index >= 0 && index < count, "sample index \(index) outside 0..<\(count)")
                (target.baseAddress! + slot * size).update(from: source.baseAddress! + index * size, count: size)
            }
        }
    }
}

/// A contiguous batch of samples: images (B, C, H, W) and labels (B).
public struct Batch: Sendable, Equatable {
    public var images: [Float]
    public var labels: [Int32]
    public let channels: Int
    public let height: Int
    public let width: Int
    public var count: Int { labels.count }
}
