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

    /// Zip64 (saturated end record and entry fields, the real values in the Zip64 records) reads the same tensors.
    func testZip64ArchiveReadsLikeThePlainOne() throws {
        let plain = try TensorFileLoader.load(testFiles.fixture("tiny-state-dict.pth")).file
        let (zip64, format) = try TensorFileLoader.load(testFiles.fixture("tiny-state-dict-zip64.pth"))
        XCTAssertEqual(format, .pytorch)
        XCTAssertEqual(zip64.tensors, plain.tensors)
        // Saturated fields without the Zip64 records behind them are named, not misread.
        let folder = try testFiles.scratch()
        var bytes = try testFiles.readBytes(testFiles.fixture("tiny-state-dict-zip64.pth"))
        let locator = bytes.count - 22 - 20
        XCTAssertEqual(Array(bytes[locator..<(locator + 4)]), [0x50, 0x4B, 0x06, 0x07])
        bytes[locator] = 0
        try testFiles.write(bytes, folder + "/no-locator.pth")
        assertError(try TensorFileLoader.load(folder + "/no-locator.pth"), mentions: ["no-locator.pth", "Zip64 locator"])
    }

    /// A training checkpoint: the state_dict of a DDP model nested under "state_dict", beside the epoch, the
    /// optimizer's state, argparse arguments and a numpy scalar. The tensors come out under their `module.`
    /// names (ModelWeights strips the prefix when it fits a model); the rest is read and left alone.
    func testNestedTrainingCheckpoint() throws {
        let (file, format) = try TensorFileLoader.load(testFiles.fixture("tiny-checkpoint.pth"))
        XCTAssertEqual(format, .pytorch)
        XCTAssertEqual(file.names, ["module.layer.weight", "module.layer.weight_t", "module.layer.bias", "module.bn.num_batches_tracked"])
        XCTAssertEqual(file["module.layer.bias"]?.floats(), [9, 10, 11])
        XCTAssertEqual(file["module.bn.num_batches_tracked"]?.int64s(), [42])
        XCTAssertEqual(file.metadata["state_dict_key"], "state_dict")
    }

    func testStateDictIsFoundUnderTheUsualKeysOrNamed() throws {
        func tensor() -> PickleValue {
            let storage = PyTorchStateDict.StorageReference(key: "0", dtype: .f32, elementCount: 1)
            return .custom(AnyObjectBox(PyTorchStateDict.TensorReference(storage: storage, offset: 0, shape: [1], strides: [1])))
        }
        func dict(_ entries: [(String, PickleValue)]) -> PickleDict {
            let dict = PickleDict()
            dict.entries = entries.map { (PickleValue.string($0.0), $0.1) }
            return dict
        }
        let weights = dict([("fc.weight", tensor())])
        for key in PyTorchStateDict.stateDictKeys {
            let root = dict([("epoch", .int(1)), ("optimizer", .dict(dict([("fc.weight", tensor())]))), (key, .dict(weights))])
            let (found, foundKey) = try PyTorchStateDict.stateDict(in: root, file: "c.pth")
            XCTAssertTrue(found === weights, key)
            XCTAssertEqual(foundKey, key)
        }
        XCTAssertTrue(try PyTorchStateDict.stateDict(in: weights, file: "c.pth").0 === weights)
        let none = dict([("epoch", .int(1)), ("weights", .dict(dict([("epoch", .int(2))])))])
        assertError(try PyTorchStateDict.stateDict(in: none, file: "c.pth"), mentions: ["c.pth", "epoch", "weights", "no state_dict", "model_state_dict"])
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
