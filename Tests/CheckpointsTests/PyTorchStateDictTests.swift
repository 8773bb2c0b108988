import Foundation
import TestSupport
import XCTest
@testable import Checkpoints

final class PyTorchStateDictTests: XCTestCase {
    func testTinyStateDictWithViews() throws {
        for name in ["tiny-state-dict.pth", "tiny-state-dict-deflate.pth"] {
            let (file, format) = try TensorFileLoader.load(testFiles.fixture(name))
            XCTAssertEqual(format, .pytorch)
            XCTAssertEqual(file.names, ["layer.weight", "layer.weight_t", "layer.bias", "bn.num_batches_tracked"], name)
            XCTAssertEqual(file["layer.weight"]?.shape, [3, 4])
            XCTAssertEqual(file["layer.weight"]?.floats(), (0..<12).map(Float.init))
            // The transposed view becomes contiguous: element (i, j) = storage[j * 4 + i].
            XCTAssertEqual(file["layer.weight_t"]?.shape, [4, 3])
            XCTAssertEqual(file["layer.weight_t"]?.floats(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
            XCTAssertEqual(file["layer.bias"]?.floats(), [9, 10, 11])
            XCTAssertEqual(file["bn.num_batches_tracked"]?.dtype, .i64)
            XCTAssertEqual(file["bn.num_batches_tracked"]?.shape, [])
            XCTAssertEqual(file["bn.num_batches_tracked"]?.int64s(), [42])
            XCTAssertEqual(file.metadata["archive"], "tiny")
        }
    }

    func testRealMNISTWeights() throws {
        let path = try testFiles.requireData("ccexam/mnist.pth")
        let (file, _) = try TensorFileLoader.load(path)
        XCTAssertEqual(file.elementCount, 421_642)
        XCTAssertEqual(file.names, ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
                                    "classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias"])
        XCTAssertEqual(file["features.0.weight"]?.shape, [32, 1, 3, 3])
        XCTAssertEqual(file["classifier.0.weight"]?.shape, [128, 3136])
        let weights = try XCTUnwrap(file["classifier.0.weight"]).floats()
        XCTAssertTrue(weights.allSatisfy { $0.isFinite && abs($0) < 10 })
        XCTAssertGreaterThan(weights.map { $0 * $0 }.reduce(0, +), 0)
    }

    func testRealUSPSAndSVHNWeights() throws {
        let usps = try TensorFileLoader.load(try testFiles.requireData("ccexam/usps.pth")).file
        XCTAssertEqual(usps.tensors.count, 18)
        XCTAssertEqual(usps.elementCount, 151_692)
        XCTAssertEqual(usps["features.1.running_var"]?.shape, [32])
        XCTAssertEqual(usps["features.1.num_batches_tracked"]?.dtype, .i64)
        XCTAssertEqual(usps["classifier.1.weight"]?.shape, [128, 1024])
        let svhn = try TensorFileLoader.load(try testFiles.requireData("ccexam/svhn.pth")).file
        XCTAssertEqual(svhn.tensors.count, 46)
        XCTAssertEqual(svhn.elementCount, 815_920)
        XCTAssertEqual(svhn["features.0.0.weight"]?.shape, [32, 3, 3, 3])
        XCTAssertEqual(svhn["classifier.1.weight"]?.shape, [256, 2048])
        XCTAssertTrue(svhn["features.2.4.running_var"]!.floats().allSatisfy { $0 > 0 })
    }

    func testConvertedToSafetensorsAndBack() throws {
        let path = try testFiles.requireData("ccexam/usps.pth")
        let original = try TensorFileLoader.load(path).file
        let folder = try testFiles.scratch()
        try Safetensors.write(original, to: folder + "/usps.safetensors")
        let (copy, format) = try TensorFileLoader.load(folder + "/usps.safetensors")
        XCTAssertEqual(format, .safetensors)
        XCTAssertEqual(copy.tensors, original.tensors)
    }

    func testCorruptedArchives() throws {
        let folder = try testFiles.scratch()
        let good = try testFiles.readBytes(testFiles.fixture("tiny-state-dict.pth"))
        // Truncated: the central directory is gone.
        try testFiles.write(Array(good.prefix(good.count - 30)), folder + "/cut.pth")
        assertError(try TensorFileLoader.load(folder + "/cut.pth"), mentions: ["cut.pth", "zip"])
        // A flipped byte inside the float storage: the CRC catches it.
        let storage = try XCTUnwrap(findSubsequence(good, Array((0..<12).map(Float.init).withUnsafeBytes { Array($0) }.prefix(16))))
        var flipped = good
        flipped[storage + 5] ^= 0x40
        try testFiles.write(flipped, folder + "/flipped.pth")
        assertError(try TensorFileLoader.load(folder + "/flipped.pth"), mentions: ["flipped.pth", "tiny/data/0", "CRC-32"])
        // Real weights truncated mid-storage.
        let mnist = try testFiles.readBytes(try testFiles.requireData("ccexam/mnist.pth"))
        try testFiles.write(Array(mnist.prefix(mnist.count / 2)), folder + "/half.pth")
        assertError(try TensorFileLoader.load(folder + "/half.pth"), mentions: ["half.pth"])
    }

    func testUnpicklerRefusesUnknownCallablesAndDamage() throws {
        // GLOBAL os.system, then REDUCE: must be refused by name, never run.
        let evil = Array("\u{80}\u{02}cos\nsystem\nq\u{00}X\u{02}\u{00}\u{00}\u{00}lsq\u{01}\u{85}R.".unicodeScalars.map { UInt8($0.value) })
        var unpickler = Unpickler(evil, file: "evil.pkl", reduce: PyTorchStateDict.reduce, persistentLoad: { try PyTorchStateDict.persistentLoad($0, file: "evil.pkl") })
        assertError(try unpickler.load(), mentions: ["os.system", "refusing"])
        // Truncated in the middle of a string.
        var truncated = Unpickler(Array(evil.prefix(20)), file: "cut.pkl", reduce: PyTorchStateDict.reduce, persistentLoad: { _ in .none })
        assertError(try truncated.load(), mentions: ["cut.pkl", "truncated"])
        // An unknown opcode names its offset.
        var unknown = Unpickler([0x80, 0x02, 0xFF], file: "odd.pkl", reduce: PyTorchStateDict.reduce, persistentLoad: { _ in .none })
        assertError(try unknown.load(), mentions: ["odd.pkl", "byte 2", "0xff"])
    }

    func testViewsOutsideTheirStorageAreRefused() throws {
        let storage = PyTorchStateDict.StorageReference(key: "0", dtype: .f32, elementCount: 4)
        let bytes = [UInt8](repeating: 0, count: 16)
        let cases: [(PyTorchStateDict.TensorReference, String)] = [
            (.init(storage: storage, offset: 2, shape: [3], strides: [1]), "reaches outside"),
            (.init(storage: storage, offset: 0, shape: [2, 2], strides: [Int.max / 2, 1]), "reaches outside"),
            (.init(storage: storage, offset: 0, shape: [Int.max / 2, 4], strides: [4, 1]), "more elements than its storage"),
            (.init(storage: storage, offset: 0, shape: [2], strides: [1, 1]), "inconsistent"),
        ]
        for (reference, rule) in cases {
            assertError(try PyTorchStateDict.materialise(reference, name: "w", storage: bytes, file: "v.pth"), mentions: ["v.pth", "\"w\"", rule])
        }
        let wrongSize = PyTorchStateDict.StorageReference(key: "0", dtype: .f32, elementCount: Int.max)
        assertError(try PyTorchStateDict.materialise(.init(storage: wrongSize, offset: 0, shape: [1], strides: [1]), name: "w", storage: bytes, file: "v.pth"),
                              mentions: ["storage 0 has 16 bytes"])
    }

    func findSubsequence(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
