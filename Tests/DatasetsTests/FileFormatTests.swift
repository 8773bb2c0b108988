import Foundation
import Inflate
import TestSupport
import XCTest
@testable import Datasets

/// The readers on committed fixtures and on deliberately damaged files.
final class FileFormatTests: XCTestCase {
    func testGzipRoundTripAndDamage() throws {
        let original = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 7) }
        let compressed = try Zlib.gzip(original)
        XCTAssertEqual(try Zlib.gunzip(compressed), original)
        // Two members back to back decode to the concatenation, as gzip -d does.
        XCTAssertEqual(try Zlib.gunzip(compressed + compressed), original + original)
        XCTAssertThrowsError(try Zlib.gunzip(Array(compressed.prefix(compressed.count / 2))))
        var corrupted = compressed
        corrupted[corrupted.count - 6] ^= 0xFF // inside the CRC trailer
        XCTAssertThrowsError(try Zlib.gunzip(corrupted))
        XCTAssertThrowsError(try Zlib.gunzip([1, 2, 3]))
    }

    func testDamagedGzipFileIsNamed() throws {
        let folder = try testFiles.scratch()
        let bytes = try Zlib.gzip(Array(repeating: 7, count: 4096))
        try testFiles.write(Array(bytes.prefix(20)), folder + "/cut.gz")
        assertError(try IDXArray.read(folder + "/cut.gz"), mentions: ["cut.gz", "gzip", "truncated"])
    }

    func testIDXFixtures() throws {
        let images = try IDXArray.read(testFiles.fixture("tiny-images-idx3-ubyte.gz"))
        XCTAssertEqual(images.dimensions, [5, 4, 3])
        XCTAssertEqual(Array(images.bytes.prefix(4)), [0, 4, 8, 12])
        let raw = try IDXArray.read(testFiles.fixture("tiny-labels-idx1-ubyte"))
        let gzipped = try IDXArray.read(testFiles.fixture("tiny-labels-idx1-ubyte.gz"))
        XCTAssertEqual(raw, gzipped)
        let dataset = try Dataset.readIDX(images: testFiles.fixture("tiny-images-idx3-ubyte.gz"),
                                          labels: testFiles.fixture("tiny-labels-idx1-ubyte.gz"), name: "tiny", classCount: 10)
        XCTAssertEqual(dataset.labels, [3, 0, 9, 1, 1])
        XCTAssertEqual(dataset.imageShape, [1, 4, 3])
        XCTAssertEqual(dataset.images[59], Float((59 * 4) % 256))
    }

    func testIDXDamage() throws {
        let folder = try testFiles.scratch()
        let good: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]
        try testFiles.write([0, 1, 8, 1, 0, 0, 0, 3, 1, 2, 3], folder + "/magic")
        assertError(try IDXArray.read(folder + "/magic"), mentions: ["magic", "byte 0", "00 00"])
        try testFiles.write(Array(good.dropLast()), folder + "/short")
        assertError(try IDXArray.read(folder + "/short"), mentions: ["short", "need 11 bytes", "has 10"])
        try testFiles.write([0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], folder + "/float")
        assertError(try IDXArray.read(folder + "/float"), mentions: ["float32", "byte 2"])
        try testFiles.write([0, 0, 8], folder + "/tiny")
        assertError(try IDXArray.read(folder + "/tiny"), mentions: ["tiny", "truncated"])
        // Counts that disagree: 5 images, 3 labels.
        try testFiles.write(good, folder + "/three-labels")
        assertError(try Dataset.readIDX(images: testFiles.fixture("tiny-images-idx3-ubyte.gz"), labels: folder + "/three-labels", name: "t", classCount: 10),
                           mentions: ["three-labels", "3 labels", "5 images"])
        // Labels out of range: the fixture holds a 9.
        assertError(try Dataset.readIDX(images: testFiles.fixture("tiny-images-idx3-ubyte.gz"), labels: testFiles.fixture("tiny-labels-idx1-ubyte.gz"), name: "t", classCount: 5),
                           mentions: ["tiny-labels-idx1-ubyte.gz", "label 2", "value 9", "0..<5"])
    }

    func testCSVDigitsFixtureAndDamage() throws {
        let dataset = try Dataset.readCSVDigits(testFiles.fixture("tiny-digits.csv.gz"), name: "tiny", side: 2, pixelMaximum: 16, classCount: 10)
        XCTAssertEqual(dataset.labels, [0, 4, 8])
        XCTAssertEqual(dataset.images, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        XCTAssertEqual(dataset.pixelMaximum, 16)
        let folder = try testFiles.scratch()
        let cases: [(String, String, [String])] = [
            ("fields", "1,2,3,4,5\n1,2,3,4\n", ["fields", "line 2", "4 fields, expected 5"]),
            ("letters", "1,2,x,4,5\n", ["letters", "line 1, column 3", "'x'"]),
            ("pixel", "1,2,17,4,5\n", ["pixel", "line 1, column 3", "17"]),
            ("label", "1,2,3,4,10\n", ["label", "line 1, column 5", "label 10"]),
            ("empty-field", "1,,3,4,5\n", ["empty-field", "line 1, column 2", "empty field"]),
            ("header", "a,b,c,d,label\n", ["header", "line 1, column 1"]),
            ("nothing", "", ["nothing", "no samples"]),
        ]
        for (name, text, fragments) in cases {
            try testFiles.write(try Zlib.gzip(Array(text.utf8)), folder + "/" + name)
            assertError(try Dataset.readCSVDigits(folder + "/" + name, name: name, side: 2, pixelMaximum: 16, classCount: 10), mentions: fragments)
        }
        // A final line without a newline still counts.
        try testFiles.write(Array("1,2,3,4,5\n6,7,8,9,1".utf8), folder + "/no-newline")
        XCTAssertEqual(try Dataset.readCSVDigits(folder + "/no-newline", name: "n", side: 2, pixelMaximum: 16, classCount: 10).labels, [5, 1])
    }

    func testNPYWrittenByNumpy() throws {
        let images = try NPYArray.read(testFiles.fixture("train_images.npy"))
        XCTAssertEqual(images.dtype, .uint8)
        XCTAssertEqual(images.shape, [5, 4, 3])
        XCTAssertEqual(Array(images.bytes.prefix(3)), [0, 4, 8])
        let labels = try NPYArray.read(testFiles.fixture("train_labels.npy"))
        XCTAssertEqual(labels.dtype, .int64)
        XCTAssertEqual(labels.integers(), [3, 0, 9, 1, 1])
        let floats = try NPYArray.read(testFiles.fixture("float-images.npy"))
        XCTAssertEqual(floats.shape, [2, 3, 2, 2])
        XCTAssertEqual(floats.floats(), (0..<24).map { Float($0) / 8 - 1 })
    }

    func testNPYRoundTripAndDamage() throws {
        let folder = try testFiles.scratch()
        let arrays = [
            NPYArray(float32: [1.5, -2, 0, 1e-8, 3, 4], shape: [2, 3]),
            NPYArray(uint8: [1, 2, 255], shape: [3]),
            NPYArray(int64: [], shape: [0]),
        ]
        for (index, array) in arrays.enumerated() {
            let path = folder + "/a\(index).npy"
            try array.write(to: path)
            XCTAssertEqual(try NPYArray.read(path), array)
            XCTAssertEqual((array.encoded().count - array.bytes.count) % 64, 0, "data starts 64-byte aligned")
        }
        let encoded = arrays[0].encoded()
        try testFiles.write(Array(encoded.dropLast(2)), folder + "/cut.npy")
        assertError(try NPYArray.read(folder + "/cut.npy"), mentions: ["cut.npy", "22 bytes", "needs 24"])
        try testFiles.write(Array("not numpy at all".utf8), folder + "/text.npy")
        assertError(try NPYArray.read(folder + "/text.npy"), mentions: ["text.npy", "magic"])
        var fortran = encoded
        let falseAt = try XCTUnwrap((0..<(encoded.count - 5)).first { Array(encoded[$0..<($0 + 5)]) == Array("False".utf8) })
        fortran.replaceSubrange(falseAt..<(falseAt + 5), with: Array("True ".utf8))
        try testFiles.write(fortran, folder + "/fortran.npy")
        assertError(try NPYArray.read(folder + "/fortran.npy"), mentions: ["fortran.npy", "fortran_order"])
    }

    func testNPYWrittenBySwiftLoadsInNumpy() throws {
        let folder = try testFiles.scratch()
        try NPYArray(float32: [0.25, -1, 7], shape: [3, 1]).write(to: folder + "/x.npy")
        let result = try runPython("import numpy as np; a = np.load('\(folder)/x.npy'); print(a.dtype, a.shape, a.ravel().tolist())")
        XCTAssertEqual(result.status, 0, "python3 failed: \(result.errors) (run `python3 -m pip install numpy`)")
        XCTAssertEqual(result.output, "float32 (3, 1) [0.25, -1.0, 7.0]")
    }
}
