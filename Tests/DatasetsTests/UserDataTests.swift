import Foundation
import TestSupport
import XCTest
@testable import Datasets

/// Users' own data: an npy folder's class count, and image folders of PNG and JPEG files the test writes with
/// the same libraries (libpng, libjpeg-turbo) the reader decodes with.
final class UserDataTests: XCTestCase {
    func writeNPYPair(_ folder: String, split: String, labels: [Int64]) throws {
        try NPYArray(uint8: Array(repeating: 7, count: labels.count * 4), shape: [labels.count, 2, 2]).write(to: "\(folder)/\(split)_images.npy")
        try NPYArray(int64: labels, shape: [labels.count]).write(to: "\(folder)/\(split)_labels.npy")
    }

    func testNPYClassCountComesFromTheLabelsOrClassesFile() throws {
        let folder = try testFiles.scratch()
        try writeNPYPair(folder, split: "train", labels: [0, 2, 1, 2])
        XCTAssertEqual(try DatasetRegistry.descriptor(named: "npy:" + folder).classCount, 3)
        XCTAssertEqual(try DatasetRegistry.descriptor(named: "npy:" + folder).imageShape, [1, 2, 2], "from the header of train_images.npy")
        XCTAssertEqual(try NPYArray.readHeader(folder + "/train_labels.npy").shape, [4])
        // The test split's labels count too: a class seen only there still gets an output.
        try writeNPYPair(folder, split: "test", labels: [4, 0])
        let descriptor = try DatasetRegistry.descriptor(named: "npy:" + folder)
        XCTAssertEqual(descriptor.classCount, 5)
        XCTAssertEqual(try descriptor.load(.train, dataDirectory: "").classCount, 5, "both splits agree on the class count")
        // classes.txt wins: one class name per line.
        try "cat\ndog\nbird\nfish\nfrog\nhorse\n\n".write(toFile: folder + "/classes.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try DatasetRegistry.descriptor(named: "npy:" + folder).classCount, 6)
        try "cat\ndog\n".write(toFile: folder + "/classes.txt", atomically: true, encoding: .utf8)
        assertError(try DatasetRegistry.load("npy:" + folder, split: .test), mentions: ["test_labels.npy", "label 0", "value 4", "0..<2"])
        try "\n".write(toFile: folder + "/classes.txt", atomically: true, encoding: .utf8)
        assertError(try DatasetRegistry.descriptor(named: "npy:" + folder), mentions: ["classes.txt", "names no class"])
        assertError(try DatasetRegistry.descriptor(named: "npy:" + folder + "/missing"), mentions: ["missing/train_labels.npy", "no such file"])
    }

    /// A w×h image whose brightness depends on the class, so classes can be told apart after decoding.
    func image(width: Int, height: Int, channels: Int, level: UInt8) -> ImageCodec.Image {
        let pixels = (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: Int(level) + ($0 % 7)) }
        return ImageCodec.Image(pixels: pixels, width: width, height: height, channels: channels)
    }

    func testCodecsRoundTrip() throws {
        let rgb = image(width: 5, height: 3, channels: 3, level: 100)
        let png = try ImageCodec.encodePNG(rgb)
        XCTAssertEqual(ImageCodec.format(of: png), .png)
        XCTAssertEqual(try ImageCodec.decode(png, file: "a.png"), rgb, "PNG is lossless")
        let grey = try ImageCodec.decode(png, channels: 1, file: "a.png")
        XCTAssertEqual([grey.channels, grey.height, grey.width], [1, 3, 5])
        let jpeg = try ImageCodec.encodeJPEG(image(width: 16, height: 16, channels: 1, level: 80), quality: 100)
        XCTAssertEqual(ImageCodec.format(of: jpeg), .jpeg)
        let decoded = try ImageCodec.decode(jpeg, channels: 3, file: "b.jpg")
        XCTAssertEqual(decoded.channels, 3)
        let expected = image(width: 16, height: 16, channels: 1, level: 80).pixels
        for index in 0..<(16 * 16) {
            XCTAssertEqual(Double(decoded.pixels[index * 3]), Double(expected[index]), accuracy: 3, "grey JPEG pixel \(index) as R")
            XCTAssertEqual(decoded.pixels[index * 3], decoded.pixels[index * 3 + 2], "grey stays grey in RGB")
        }
        assertError(try ImageCodec.decode(Array(png.prefix(40)), file: "cut.png"), mentions: ["cut.png", "PNG"])
        assertError(try ImageCodec.decode(Array(jpeg.prefix(jpeg.count / 2)), file: "cut.jpg"), mentions: ["cut.jpg", "JPEG"])
        assertError(try ImageCodec.decode([1, 2, 3, 4], file: "x.png"), mentions: ["x.png", "not a PNG or JPEG"])
    }

    /// classes a (dark) and b (bright), PNG and JPEG of other sizes and channel counts mixed.
    func writeFolder(_ root: String, perClass: Int = 3) throws {
        for (className, level) in [("a", UInt8(20)), ("b", UInt8(220))] {
            try FileManager.default.createDirectory(atPath: root + "/" + className, withIntermediateDirectories: true)
            for index in 0..<perClass {
                let picture = image(width: 20 + 4 * index, height: 24, channels: index % 2 == 0 ? 3 : 1, level: level)
                if index % 2 == 0 {
                    try testFiles.write(try ImageCodec.encodePNG(picture), "\(root)/\(className)/\(index).png")
                } else {
                    try testFiles.write(try ImageCodec.encodeJPEG(picture), "\(root)/\(className)/\(index).JPG")
                }
            }
        }
    }

    func testImageFolderDecodesResizesAndLabels() throws {
        let root = try testFiles.scratch()
        try writeFolder(root)
        let descriptor = try DatasetRegistry.descriptor(named: "folder:" + root)
        XCTAssertEqual(descriptor.classCount, 2)
        XCTAssertEqual(descriptor.splits, [.all])
        for shape in [[1, 8, 8], [3, 6, 10]] {
            let dataset = try DatasetRegistry.load("folder:" + root, split: .all, imageShape: shape)
            XCTAssertEqual(dataset.imageShape, shape)
            XCTAssertEqual(dataset.labels, [0, 0, 0, 1, 1, 1], "sorted class folders give the labels")
            XCTAssertEqual(dataset.pixelMaximum, 255)
            let size = dataset.imageSize
            for sample in 0..<dataset.count {
                let mean = dataset.images[(sample * size)..<((sample + 1) * size)].reduce(0, +) / Float(size)
                XCTAssertEqual(mean, sample < 3 ? 23 : 223, accuracy: 4, "sample \(sample) keeps its brightness")
            }
        }
        // A symbolic link to an image is an image.
        try FileManager.default.createSymbolicLink(atPath: root + "/a/linked.png", withDestinationPath: root + "/b/0.png")
        XCTAssertEqual(try DatasetRegistry.load("folder:" + root, split: .all, imageShape: [1, 8, 8]).labels, [0, 0, 0, 0, 1, 1, 1])
        try FileManager.default.removeItem(atPath: root + "/a/linked.png")
        // Without a target shape: the first image's own size and channels.
        XCTAssertEqual(try DatasetRegistry.load("folder:" + root, split: .all).imageShape, [3, 24, 20])
    }

    func testImageFolderCacheIsReusedAndInvalidated() throws {
        let root = try testFiles.scratch()
        try writeFolder(root)
        let first = try DatasetRegistry.load("folder:" + root, split: .all, imageShape: [1, 8, 8])
        let cacheFolder = root + "/" + ImageFolder.cacheFolderName
        let cached = try FileManager.default.contentsOfDirectory(atPath: cacheFolder).sorted()
        XCTAssertEqual(cached.count, 2, "images and labels: \(cached)")
        XCTAssertTrue(cached.allSatisfy { $0.hasPrefix("1x8x8-") })
        // A second read comes from the cache: damage an image, the read still succeeds with the same data.
        let damaged = root + "/a/0.png"
        let original = try testFiles.readBytes(damaged)
        let attributes = try FileManager.default.attributesOfItem(atPath: damaged)
        try testFiles.write(Array(original.prefix(original.count - 1)) + [original.last! ^ 0xFF], damaged)
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: damaged)
        XCTAssertEqual(try DatasetRegistry.load("folder:" + root, split: .all, imageShape: [1, 8, 8]), first)
        try testFiles.write(original, damaged)
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: damaged)
        // A new image changes the fingerprint: the folder is read again and the stale cache replaced.
        try testFiles.write(try ImageCodec.encodePNG(image(width: 8, height: 8, channels: 1, level: 200)), root + "/b/new.png")
        let second = try DatasetRegistry.load("folder:" + root, split: .all, imageShape: [1, 8, 8])
        XCTAssertEqual(second.count, 7)
        let refreshed = try FileManager.default.contentsOfDirectory(atPath: cacheFolder)
        XCTAssertEqual(refreshed.count, 2)
        XCTAssertTrue(Set(refreshed).isDisjoint(with: cached), "the stale cache is removed")
    }

    func testImageFolderSplitsAndBadFiles() throws {
        let root = try testFiles.scratch()
        try writeFolder(root + "/train")
        try writeFolder(root + "/val", perClass: 1)
        let descriptor = try DatasetRegistry.descriptor(named: "folder:" + root)
        XCTAssertEqual(descriptor.splits, [.train, .test])
        XCTAssertEqual(try DatasetRegistry.load("folder:" + root, split: .test, imageShape: [1, 4, 4]).labels, [0, 1])
        XCTAssertEqual(try DatasetRegistry.load("folder:" + root, split: .train, imageShape: [1, 4, 4]).count, 6)

        try FileManager.default.createDirectory(atPath: root + "/val/c", withIntermediateDirectories: true)
        assertError(try DatasetRegistry.descriptor(named: "folder:" + root), mentions: ["/val", "class folder(s) c"])
        try FileManager.default.removeItem(atPath: root + "/val/c")

        try testFiles.write(Array("not an image".utf8), root + "/train/b/broken.png")
        assertError(try DatasetRegistry.load("folder:" + root, split: .train, imageShape: [1, 4, 4]),
                    mentions: ["train/b/broken.png", "not a PNG or JPEG"])
        try testFiles.write([0xFF, 0xD8, 0xFF, 0xE0, 0, 16], root + "/train/b/broken.png")
        assertError(try DatasetRegistry.load("folder:" + root, split: .train, imageShape: [1, 4, 4]), mentions: ["train/b/broken.png", "JPEG"])
        try FileManager.default.removeItem(atPath: root + "/train/b/broken.png")
        try testFiles.write([1], root + "/train/a/notes.txt")
        assertError(try DatasetRegistry.load("folder:" + root, split: .train, imageShape: [1, 4, 4]),
                    mentions: ["train/a/notes.txt", ".png, .jpg or .jpeg"])
        let empty = try testFiles.scratch()
        assertError(try DatasetRegistry.descriptor(named: "folder:" + empty), mentions: [empty, "no class sub-folders"])
        assertError(try DatasetRegistry.descriptor(named: "folder:" + empty + "/nothing"), mentions: ["nothing", "is not a folder"])
    }

    func testBoxReductionAveragesBlocks() throws {
        let dataset = try Dataset(name: "d", images: (0..<16).map(Float.init), labels: [0], channels: 1, height: 4, width: 4,
                                  classCount: 1, pixelMaximum: 255)
        let reduced = try dataset.reducedByAveraging(factor: 2)
        XCTAssertEqual(reduced.imageShape, [1, 2, 2])
        XCTAssertEqual(reduced.images, [2.5, 4.5, 10.5, 12.5])
    }
}
