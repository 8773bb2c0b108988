import Foundation
import Inflate
import TestSupport
import XCTest
@testable import Datasets

/// The registry on the real files `make data` fetches (these fail, never skip, when data/ is missing).
final class RealDatasetTests: XCTestCase {
    func testFashionMNIST() throws {
        _ = try testFiles.requireData("fashion-mnist/train-images-idx3-ubyte.gz")
        let start = Date()
        let train = try DatasetRegistry.load("fashion-mnist", split: .train, dataDirectory: testFiles.data)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(train.imageShape, [1, 28, 28])
        XCTAssertEqual(Array(train.labels.prefix(10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        XCTAssertEqual(train.images.max(), 255)
        let test = try DatasetRegistry.load("fashion-mnist", split: .test, dataDirectory: testFiles.data)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(Array(test.labels.prefix(10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        for label in 0..<10 { XCTAssertEqual(test.labels.filter { $0 == label }.count, 1_000) }
        print("fashion-mnist: decoded 60,000 training images in \(String(format: "%.3f", seconds)) s")
    }

    func testMNIST5k() throws {
        _ = try testFiles.requireData("mnist-5k/mnist_5k.csv.gz")
        let digits = try DatasetRegistry.load("mnist-5k", split: .all, dataDirectory: testFiles.data)
        XCTAssertEqual(digits.count, 5_000)
        XCTAssertEqual(digits.imageShape, [1, 28, 28])
        for label in 0..<10 { XCTAssertEqual(digits.labels.filter { $0 == label }.count, 500) }
        XCTAssertEqual(digits.images.max(), 255)
        assertError(try DatasetRegistry.load("mnist-5k", split: .test, dataDirectory: testFiles.data), mentions: ["mnist-5k", "no 'test' split"])
    }

    func testUCIDigits() throws {
        _ = try testFiles.requireData("digits/digits.csv.gz")
        let digits = try DatasetRegistry.load("digits", split: .all, dataDirectory: testFiles.data)
        XCTAssertEqual(digits.count, 1_797)
        XCTAssertEqual(digits.imageShape, [1, 8, 8])
        XCTAssertEqual(digits.images.max(), 16)
        XCTAssertEqual(Array(digits.labels.prefix(3)), [0, 1, 2])
    }

    func testAnimalMNIST() throws {
        let imagesPath = try testFiles.requireData("animal-mnist/animal_data_version_3.gz")
        let animals = try DatasetRegistry.load("animal-mnist", split: .all, dataDirectory: testFiles.data)
        XCTAssertEqual(animals.count, 10_000)
        for label in 0..<10 { XCTAssertEqual(animals.labels.filter { $0 == label }.count, 1_000) }
        XCTAssertGreaterThan(animals.images.max() ?? 0, 0)

        // A truncated copy must be refused with its size named.
        let folder = try testFiles.scratch()
        let decompressed = try Zlib.gunzip(try testFiles.readBytes(imagesPath))
        try testFiles.write(try Zlib.gzip(Array(decompressed.dropLast(100))), folder + "/animal_data_version_3.gz")
        try FileManager.default.copyItem(atPath: testFiles.data + "/animal-mnist/animal_label_version_3.gz", toPath: folder + "/animal_label_version_3.gz")
        assertError(try Dataset.readAnimalMNIST(images: folder + "/animal_data_version_3.gz", labels: folder + "/animal_label_version_3.gz"),
                           mentions: ["animal_data_version_3.gz", "7840064", "expected 7840164"])
        // A label file whose payload length field is wrong.
        var labels = try Zlib.gunzip(try testFiles.readBytes(folder + "/animal_label_version_3.gz"))
        labels[142] ^= 1
        try testFiles.write(try Zlib.gzip(labels), folder + "/bad-labels.gz")
        assertError(try Dataset.readAnimalMNIST(images: imagesPath, labels: folder + "/bad-labels.gz"), mentions: ["bad-labels.gz", "byte 142"])
    }

    func testRegistryNames() throws {
        XCTAssertEqual(DatasetRegistry.knownNames, ["fashion-mnist", "mnist-5k", "animal-mnist", "digits", "npy:DIR", "folder:DIR"])
        assertError(try DatasetRegistry.descriptor(named: "cifar"), mentions: ["cifar", "unknown dataset", "fashion-mnist"])
        assertError(try DatasetRegistry.load("fashion-mnist", split: .train, dataDirectory: "/nonexistent"),
                           mentions: ["/nonexistent/fashion-mnist/train-images-idx3-ubyte.gz", "make data"])
        let own = try DatasetRegistry.load("npy:" + testFiles.fixtures, split: .train)
        XCTAssertEqual(own.count, 5)
        XCTAssertEqual(own.imageShape, [1, 4, 3])
        XCTAssertEqual(own.labels, [3, 0, 9, 1, 1])
        XCTAssertEqual(own.classCount, 10)
        assertError(try DatasetRegistry.load("npy:" + testFiles.fixtures, split: .test), mentions: ["test_images.npy", "no such file"])
    }
}
