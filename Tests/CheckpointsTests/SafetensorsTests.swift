import Foundation
import TestSupport
import XCTest
@testable import Checkpoints

final class SafetensorsTests: XCTestCase {
    /// A file with a hand-written header (padded to 8) and buffer, for the corruption cases.
    func file(header: String, buffer: [UInt8], pad: Bool = true) -> [UInt8] {
        var json = Array(header.utf8)
        if pad { json += Array(repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8) }
        let length = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + json + buffer
    }

    func testReadsTheReferenceImplementationsFile() throws {
        let file = try Safetensors.read(testFiles.fixture("reference.safetensors"))
        XCTAssertEqual(file.metadata, ["format": "pt", "producer": "make-fixtures"])
        XCTAssertEqual(Set(file.names), ["weight", "steps", "half", "scalar", "empty", "counts"])
        let weight = try XCTUnwrap(file["weight"])
        XCTAssertEqual(weight.dtype, .f32)
        XCTAssertEqual(weight.shape, [2, 3])
        XCTAssertEqual(weight.floats(), [-0.5, -0.25, 0, 0.25, 0.5, 0.75])
        XCTAssertEqual(file["steps"]?.int64s(), [1, -2, 3_000_000_000, -(1 << 62)])
        XCTAssertEqual(file["half"]?.dtype, .f16)
        XCTAssertEqual(file["half"]?.floats(), [0.5, -1.25, 65504, Float(Float16(6.1035156e-05))])
        XCTAssertEqual(file["scalar"]?.shape, [])
        XCTAssertEqual(file["scalar"]?.dtype, .f64)
        XCTAssertEqual(file["scalar"]?.floats(), [3.25])
        XCTAssertEqual(file["empty"]?.shape, [0, 3])
        XCTAssertEqual(file["empty"]?.dtype, .u8)
        XCTAssertEqual(file["empty"]?.bytes, [])
        XCTAssertEqual(file["counts"]?.int64s(), [7, -8, 2_147_483_647])
    }

    func testRoundTripEveryDType() throws {
        var tensors: [NamedTensor] = []
        for (index, dtype) in TensorDType.allCases.enumerated() {
            let bytes = (0..<(6 * dtype.byteSize)).map { UInt8(truncatingIfNeeded: $0 * 37 + index) }
            tensors.append(try NamedTensor(name: "t.\(dtype.rawValue)", dtype: dtype, shape: [2, 3], bytes: bytes))
            tensors.append(try NamedTensor(name: "scalar.\(dtype.rawValue)", dtype: dtype, shape: [], bytes: Array(bytes.prefix(dtype.byteSize))))
            tensors.append(try NamedTensor(name: "empty.\(dtype.rawValue)", dtype: dtype, shape: [4, 0], bytes: []))
        }
        let original = TensorFile(tensors: tensors, metadata: ["format": "pt", "step": "12"])
        let folder = try testFiles.scratch()
        let path = folder + "/all.safetensors"
        try Safetensors.write(original, to: path)
        XCTAssertEqual(try Safetensors.read(path), original, "same tensors, same order, same metadata")
        // The header is padded with spaces to a multiple of 8 and no temporary file is left behind.
        let bytes = try testFiles.readBytes(path)
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["all.safetensors"])
        // Writing twice gives identical bytes (deterministic order).
        try Safetensors.write(original, to: path)
        XCTAssertEqual(try testFiles.readBytes(path), bytes)
    }

    func testFloatConversions() throws {
        let bf16 = try NamedTensor(name: "b", dtype: .bf16, shape: [3], bytes: [0x80, 0x3F, 0x00, 0xC0, 0x49, 0x40])
        XCTAssertEqual(bf16.floats(), [1, -2, 3.140625])
        XCTAssertNil(bf16.int64s())
        XCTAssertThrowsError(try NamedTensor(name: "x", dtype: .f32, shape: [2], bytes: [0, 0, 0]))
    }

    func testDefaultMetadataFormatIsPt() throws {
        let bytes = try Safetensors.encode(TensorFile(tensors: [NamedTensor(name: "w", shape: [1], floats: [2])]))
        XCTAssertEqual(try Safetensors.decode(bytes, file: "m").metadata, ["format": "pt"])
        XCTAssertThrowsError(try Safetensors.encode(TensorFile(tensors: [NamedTensor(name: "w", shape: [1], floats: [2]), NamedTensor(name: "w", shape: [1], floats: [3])])))
    }

    /// Checksummed files name a tensor whose bytes changed; the checksum keys never reach the caller, so a file
    /// read, changed and written again gets fresh ones; files without checksums still read.
    func testChecksumsFindDamagedTensorBytes() throws {
        let tensors = [NamedTensor(name: "a", shape: [2], floats: [1, 2]), NamedTensor(name: "b", shape: [2], floats: [3, 4])]
        let bytes = try Safetensors.encode(TensorFile(tensors: tensors, metadata: ["step": "3"]), checksums: true)
        let read = try Safetensors.decode(bytes, file: "c")
        XCTAssertEqual(read.metadata, ["format": "pt", "step": "3"])
        XCTAssertEqual(read["b"]?.floats(), [3, 4])
        var damaged = bytes
        damaged[damaged.count - 5] ^= 0x01  // inside tensor "b" (the last 8 bytes)
        XCTAssertThrowsError(try Safetensors.decode(damaged, file: "c")) { error in
            XCTAssertTrue("\(error)".hasPrefix("c: tensor \"b\": CRC-32 mismatch"), "\(error)")
        }
        var plain = try Safetensors.encode(TensorFile(tensors: tensors))
        plain[plain.count - 5] ^= 0x01
        XCTAssertNotEqual(try Safetensors.decode(plain, file: "p")["b"]?.floats(), [3, 4], "no checksum: read as it is")
        var rewritten = read
        rewritten.tensors[0] = NamedTensor(name: "a", shape: [2], floats: [5, 6])
        let again = try Safetensors.decode(try Safetensors.encode(rewritten, checksums: true), file: "r")
        XCTAssertEqual(again["a"]?.floats(), [5, 6])
    }

    func testCorruptedFilesGiveClearErrors() throws {
        let four: [UInt8] = [0, 0, 128, 63]
        let good = file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, buffer: four)
        XCTAssertEqual(try Safetensors.decode(good, file: "ok").tensors.count, 1)
        let cases: [(String, [UInt8], [String])] = [
            ("short", [1, 2, 3], ["short", "at least 8"]),
            ("truncated", Array(good.dropLast()), ["truncated", "\"a\"", "past the data buffer"]),
            ("huge-header", [0, 0, 0, 0, 1, 0, 0, 0] + Array(repeating: 32, count: 16), ["huge-header", "exceeds the limit"]),
            ("header-past-end", [200, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "{"), UInt8(ascii: "}")], ["header-past-end", "runs past the end"]),
            ("not-object", file(header: "[1, 2]", buffer: []), ["not-object", "starting with '{'"]),
            ("bad-json", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#, buffer: four), ["bad-json", "JSON invalid"]),
            ("duplicate", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: four + four),
             ["duplicate", "duplicate key \"a\""]),
            ("gap", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: four + four), ["gap", "\"a\"", "leaves a gap"]),
            ("overlap", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: four + four),
             ["overlap", "\"b\"", "overlaps"]),
            ("size", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, buffer: four), ["size", "\"a\"", "needs 8"]),
            ("trailing", good + [0, 0, 0, 0], ["trailing", "end exactly at the end of the file"]),
            ("dtype", file(header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, buffer: [1]), ["dtype", "\"a\"", "\"F8\""]),
            ("negative", file(header: #"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#, buffer: [1]), ["negative", "\"a\"", "non-negative"]),
            ("missing", file(header: #"{"a":{"dtype":"U8","shape":[1]}}"#, buffer: [1]), ["missing", "\"a\"", "data_offsets"]),
            ("metadata", file(header: #"{"__metadata__":{"format":1}}"#, buffer: []), ["metadata", "__metadata__", "string"]),
            ("backwards", file(header: #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}"#, buffer: [1]),
             ["backwards", "\"b\""]),
        ]
        for (name, bytes, fragments) in cases {
            assertError(try Safetensors.decode(bytes, file: name), mentions: fragments)
        }
        assertError(try Safetensors.read("/nonexistent/x.safetensors"), mentions: ["/nonexistent/x.safetensors", "no such file"])
    }

    func testPythonReferenceLoadsSwiftFile() throws {
        let folder = try testFiles.scratch()
        let path = folder + "/swift.safetensors"
        let file = TensorFile(tensors: [
            NamedTensor(name: "layer.weight", shape: [2, 2], floats: [1.5, -2, 0.25, 1e-3]),
            NamedTensor(name: "steps", shape: [], int64s: [-7]),
            try NamedTensor(name: "half", dtype: .f16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xC0]),
            NamedTensor(name: "empty", shape: [0], floats: []),
        ], metadata: ["note": "from swift"])
        try Safetensors.write(file, to: path)
        let script = """
        import sys
        try:
            import safetensors, safetensors.numpy
        except ImportError:
            print("MISSING"); sys.exit(3)
        from safetensors import safe_open
        d = safetensors.numpy.load_file('\(path)')
        with safe_open('\(path)', framework='numpy') as f: meta = f.metadata()
        print(sorted(meta.items()))
        for k in ['layer.weight', 'steps', 'half', 'empty']:
            print(k, d[k].dtype, d[k].shape, d[k].ravel().tolist())
        """
        let result = try runPython(script)
        guard result.status != 3 else {
            return XCTFail("the Python package safetensors is missing: run `python3 -m pip install safetensors` (the Makefile does)")
        }
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output.split(separator: "\n").map(String.init), [
            "[('format', 'pt'), ('note', 'from swift')]",
            "layer.weight float32 (2, 2) [1.5, -2.0, 0.25, 0.0010000000474974513]",
            "steps int64 () [-7]",
            "half float16 (2,) [1.0, -2.0]",
            "empty float32 (0,) []",
        ])
    }
}
