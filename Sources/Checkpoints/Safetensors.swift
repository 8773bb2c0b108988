import Foundation
import Inflate

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON describing each tensor
/// (`dtype`, `shape`, `data_offsets` relative to the data buffer) and an optional `__metadata__` map of
/// strings, then the data buffer.
///
/// The reader checks what the reference implementation checks, so a file it accepts is one PyTorch and
/// Hugging Face tools accept too: a header length that is sane and inside the file, valid JSON, no duplicate
/// names, offsets that tile the buffer in order with no gap or overlap, byte sizes equal to shape × dtype,
/// and a buffer that ends exactly at the end of the file.
///
/// Checkpoints and learned-optimizer files carry a CRC-32 of every tensor's bytes in the metadata ("crc32.NAME":
/// 8 hex digits; `write(_:to:checksums: true)`), so damaged tensor bytes, which the layout checks cannot see, are
/// found on read and the tensor is named. Files without them (PyTorch's, older runs') read as before. The reader verifies and removes these keys, and the
/// writer recomputes them, so a file read, changed and written again never carries a stale checksum.
public enum Safetensors {
    /// The reference implementation's limit on the header size (100 MB).
    public static let maximumHeaderSize = 100_000_000

    /// Prefix of the metadata key holding a tensor's CRC-32.
    public static let checksumPrefix = "crc32."

    // MARK: Reading

    public static func read(_ path: String) throws -> TensorFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode([UInt8](data), file: path)
    }

    public static func decode(_ bytes: [UInt8], file: String) throws -> TensorFile {
        guard bytes.count >= 8 else {
            throw CheckpointError(file: file, "header length: file has \(bytes.count) bytes, a safetensors file needs at least 8")
        }
        var headerLength: UInt64 = 0
        for index in 0..<8 { headerLength |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw CheckpointError(file: file, "header length \(headerLength) exceeds the limit of \(maximumHeaderSize) bytes (not a safetensors file?)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard headerEnd <= bytes.count else {
            throw CheckpointError(file: file, "header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        guard headerLength >= 2, bytes[8] == UInt8(ascii: "{") else {
            throw CheckpointError(file: file, "header must be a JSON object starting with '{'")
        }
        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(bytes[8..<headerEnd])
        } catch let error as HeaderJSON.ParseError {
            throw CheckpointError(file: file, "header JSON invalid at header byte \(error.offset): \(error.message)")
        }
        guard case let .object(members) = json else { throw CheckpointError(file: file, "header must be a JSON object") }

        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: TensorDType, shape: [Int], start: Int, end: Int)] = []
        for (name, value) in members {
            if name == "__metadata__" {
                metadata = try decodeMetadata(value, file: file)
                continue
            }
            entries.append(try decodeEntry(name: name, value, file: file))
        }

        // Offsets must tile the buffer: sorted by start, each begins where the previous ended.
        let bufferLength = bytes.count - headerEnd
        entries.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        var expectedStart = 0
        var tensors: [NamedTensor] = []
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            guard entry.start == expectedStart else {
                let rule = entry.start > expectedStart ? "leaves a gap" : "overlaps the previous tensor"
                throw CheckpointError(file: file, "tensor \"\(entry.name)\": data_offsets [\(entry.start), \(entry.end)] \(rule) (expected to start at \(expectedStart))")
            }
            guard entry.end >= entry.start else {
                throw CheckpointError(file: file, "tensor \"\(entry.name)\": data_offsets [\(entry.start), \(entry.end)] end before they start")
            }
            let byteCount = NamedTensor.checkedElementCount(entry.shape).flatMap { elements -> Int? in
                let (bytes, overflow) = elements.multipliedReportingOverflow(by: entry.dtype.byteSize)
                return overflow ? nil : bytes
            }
            guard let byteCount, byteCount == entry.end - entry.start else {
                let needs = byteCount.map { "needs \($0)" } ?? "is too large"
                throw CheckpointError(file: file, "tensor \"\(entry.name)\": data_offsets span \(entry.end - entry.start) bytes, shape \(entry.shape) of \(entry.dtype.rawValue) \(needs)")
            }
            guard entry.end <= bufferLength else {
                throw CheckpointError(file: file, "tensor \"\(entry.name)\": data_offsets end \(entry.end) is past the data buffer's \(bufferLength) bytes (truncated file?)")
            }
            tensors.append(try NamedTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                                           bytes: Array(bytes[(headerEnd + entry.start)..<(headerEnd + entry.end)])))
            expectedStart = entry.end
        }
        guard expectedStart == bufferLength else {
            throw CheckpointError(file: file, "data buffer has \(bufferLength) bytes but the tensors cover \(expectedStart): the buffer must end exactly at the end of the file")
        }
        try verifyChecksums(&metadata, tensors: tensors, file: file)
        return TensorFile(tensors: tensors, metadata: metadata)
    }

    /// Checks every "crc32.NAME" entry against its tensor's bytes and removes the entries from `metadata`.
    private static func verifyChecksums(_ metadata: inout [String: String], tensors: [NamedTensor], file: String) throws {
        let keys = metadata.keys.filter { $0.hasPrefix(checksumPrefix) }
        guard !keys.isEmpty else { return }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for key in keys.sorted() {
            let name = String(key.dropFirst(checksumPrefix.count))
            guard let tensor = byName[name] else {
                throw CheckpointError(file: file, "__metadata__ \"\(key)\" is the checksum of a tensor the file does not hold")
            }
            let computed = checksum(tensor.bytes)
            guard metadata[key] == computed else {
                throw CheckpointError(file: file, "tensor \"\(name)\": CRC-32 mismatch (stored \(metadata[key] ?? ""), computed \(computed)); its bytes are damaged")
            }
            metadata.removeValue(forKey: key)
        }
    }

    /// A tensor's CRC-32 as 8 hex digits.
    static func checksum(_ bytes: [UInt8]) -> String { String(format: "%08x", Zlib.crc32(bytes)) }

    private static func decodeMetadata(_ value: HeaderJSON, file: String) throws -> [String: String] {
        guard case let .object(pairs) = value else { throw CheckpointError(file: file, "__metadata__ must be an object of strings") }
        var metadata: [String: String] = [:]
        for (key, entry) in pairs {
            guard case let .string(text) = entry else { throw CheckpointError(file: file, "__metadata__ \"\(key)\" must be a string") }
            metadata[key] = text
        }
        return metadata
    }

    private static func decodeEntry(name: String, _ value: HeaderJSON, file: String) throws -> (name: String, dtype: TensorDType, shape: [Int], start: Int, end: Int) {
        guard case let .object(fields) = value else { throw CheckpointError(file: file, "tensor \"\(name)\": entry must be an object") }
        var dtype: TensorDType?
        var shape: [Int]?
        var offsets: [Int]?
        for (key, field) in fields {
            switch key {
            case "dtype":
                guard case let .string(text) = field, let known = TensorDType(rawValue: text) else {
                    throw CheckpointError(file: file, "tensor \"\(name)\": dtype \(field.serialized) is not one of \(TensorDType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                dtype = known
            case "shape":
                shape = try nonNegativeIntegers(field, name: name, field: "shape", file: file)
            case "data_offsets":
                offsets = try nonNegativeIntegers(field, name: name, field: "data_offsets", file: file)
                guard offsets?.count == 2 else { throw CheckpointError(file: file, "tensor \"\(name)\": data_offsets must be [begin, end]") }
            default:
                throw CheckpointError(file: file, "tensor \"\(name)\": unknown field \"\(key)\"")
            }
        }
        guard let dtype, let shape, let offsets else {
            throw CheckpointError(file: file, "tensor \"\(name)\": needs dtype, shape and data_offsets")
        }
        return (name, dtype, shape, offsets[0], offsets[1])
    }

    private static func nonNegativeIntegers(_ value: HeaderJSON, name: String, field: String, file: String) throws -> [Int] {
        guard case let .array(elements) = value else { throw CheckpointError(file: file, "tensor \"\(name)\": \(field) must be an array of integers") }
        return try elements.map { element in
            guard case let .integer(number) = element, number >= 0 else {
                throw CheckpointError(file: file, "tensor \"\(name)\": \(field) holds \(element.serialized), expected a non-negative integer")
            }
            return number
        }
    }

    // MARK: Writing

    /// The file's bytes. Tensors are stored in the given order; `__metadata__` gets `"format": "pt"` unless
    /// the caller set a format, so PyTorch and Hugging Face loaders accept the file; with `checksums`, every
    /// tensor's CRC-32 too.
    public static func encode(_ file: TensorFile, checksums: Bool = false) throws -> [UInt8] {
        var seen = Set<String>()
        for tensor in file.tensors {
            guard tensor.name != "__metadata__", seen.insert(tensor.name).inserted else {
                throw CheckpointError(file: tensor.name, "tensor name is duplicated or reserved")
            }
        }
        var metadata = file.metadata.filter { !$0.key.hasPrefix(checksumPrefix) }
        if metadata["format"] == nil { metadata["format"] = "pt" }
        if checksums {
            for tensor in file.tensors { metadata[checksumPrefix + tensor.name] = checksum(tensor.bytes) }
        }
        var members: [(key: String, value: HeaderJSON)] = [
            ("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, HeaderJSON.string($0.value)) })),
        ]
        var offset = 0
        for tensor in file.tensors {
            let end = offset + tensor.bytes.count
            members.append((tensor.name, .object([
                ("dtype", .string(tensor.dtype.rawValue)),
                ("shape", .array(tensor.shape.map { HeaderJSON.integer($0) })),
                ("data_offsets", .array([.integer(offset), .integer(end)])),
            ])))
            offset = end
        }
        var header = Array(HeaderJSON.object(members).serialized.utf8)
        // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        let length = UInt64(header.count)
        for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(index)))) }
        bytes.append(contentsOf: header)
        for tensor in file.tensors { bytes.append(contentsOf: tensor.bytes) }
        return bytes
    }

    /// Writes atomically (temporary file in the same folder, fsync, rename); `checksums` as for `encode`.
    public static func write(_ file: TensorFile, to path: String, checksums: Bool = false) throws {
        try AtomicFile.write(encode(file, checksums: checksums), to: path)
    }
}
