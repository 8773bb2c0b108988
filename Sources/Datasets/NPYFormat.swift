import Foundation

/// numpy's `.npy` format, the generic way for users to bring their own data: the magic `\x93NUMPY`, a
/// version, a little-endian header length, a Python-literal dict header (`descr`, `fortran_order`, `shape`)
/// padded with spaces and ending in a newline, then the raw elements.
///
/// Only C-order, little-endian arrays of the dtypes below are accepted; anything else is named in the error.
public struct NPYArray: Sendable, Equatable {
    public enum DType: String, Sendable, CaseIterable {
        case uint8 = "|u1"
        case float32 = "<f4"
        case int32 = "<i4"
        case int64 = "<i8"

        public var byteSize: Int {
            switch self {
            case .uint8: 1
            case .float32, .int32: 4
            case .int64: 8
            }
        }
    }

    public let dtype: DType
    public let shape: [Int]
    /// Little-endian element bytes in C order.
    public let bytes: [UInt8]

    public var elementCount: Int { shape.reduce(1, *) }

    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) * dtype.byteSize == bytes.count, "NPY bytes do not match shape \(shape)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(uint8 values: [UInt8], shape: [Int]) { self.init(dtype: .uint8, shape: shape, bytes: values) }

    public init(float32 values: [Float], shape: [Int]) {
        self.init(dtype: .float32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    public init(int64 values: [Int64], shape: [Int]) {
        self.init(dtype: .int64, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    /// The elements converted to Float.
    public func floats() -> [Float] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .uint8: return raw.map { Float($0) }
            case .float32: return (0..<elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            case .int32: return (0..<elementCount).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int64: return (0..<elementCount).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
        }
    }

    /// The elements as Int64 (floats are truncated; only meaningful for integer dtypes).
    public func integers() -> [Int64] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .uint8: return raw.map { Int64($0) }
            case .float32: return (0..<elementCount).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)) }
            case .int32: return (0..<elementCount).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int64: return (0..<elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
            }
        }
    }

    // MARK: Reading

    public static func read(_ path: String) throws -> NPYArray {
        try parse(FileBytes.read(path), file: path)
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The dtype and shape from the header alone, reading only the file's first 64 KiB (all of a gzipped
    /// file): what a run checks before it starts, without loading the elements.
    public static func readHeader(_ path: String) throws -> (dtype: DType, shape: [Int]) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DatasetError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        defer { try? handle.close() }
        let prefix = [UInt8]((try? handle.read(upToCount: 1 << 16)) ?? Data())
        if prefix.starts(with: [0x1F, 0x8B]) { return try header(FileBytes.read(path), file: path).fields }
        return try header(prefix, file: path).fields
    }

    /// The header's fields and where the elements start; `bytes` need only hold the header.
    private static func header(_ bytes: [UInt8], file: String) throws -> (fields: (dtype: DType, shape: [Int]), dataStart: Int) {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw DatasetError(file: file, location: "byte 0", "not an NPY file (expected the magic \\x93NUMPY)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw DatasetError(file: file, location: "byte 8", "NPY header length truncated") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw DatasetError(file: file, location: "byte 6", "NPY version \(major) is not supported, expected 1, 2 or 3")
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw DatasetError(file: file, location: "byte \(headerStart)", "NPY header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)")
        }
        guard let header = String(bytes: bytes[headerStart..<dataStart], encoding: .utf8) else {
            throw DatasetError(file: file, location: "header", "NPY header is not text")
        }
        return (try parseHeader(header, file: file), dataStart)
    }

    static func parse(_ bytes: [UInt8], file: String) throws -> NPYArray {
        let (fields, dataStart) = try header(bytes, file: file)
        var expected = fields.dtype.byteSize
        for size in fields.shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: size)
            guard !overflow else { throw DatasetError(file: file, location: "header field 'shape'", "shape \(fields.shape) is too large") }
            expected = product
        }
        guard bytes.count - dataStart == expected else {
            throw DatasetError(file: file, location: "byte \(dataStart)",
                               "NPY data is \(bytes.count - dataStart) bytes, shape \(fields.shape) of \(fields.dtype.rawValue) needs \(expected)")
        }
        return NPYArray(dtype: fields.dtype, shape: fields.shape, bytes: Array(bytes[dataStart...]))
    }

    /// Parses the dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28), }`.
    private static func parseHeader(_ header: String, file: String) throws -> (dtype: DType, shape: [Int]) {
        func field(_ key: String) throws -> Substring {
            guard let keyRange = header.range(of: "'\(key)':") else {
                throw DatasetError(file: file, location: "header", "NPY header lacks the '\(key)' field: \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            return header[keyRange.upperBound...].drop(while: { $0 == " " })
        }
        let descrText = try field("descr")
        guard descrText.first == "'", let close = descrText.dropFirst().firstIndex(of: "'") else {
            throw DatasetError(file: file, location: "header field 'descr'", "expected a quoted dtype string")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<close])
        guard let dtype = DType(rawValue: descr == "<u1" ? "|u1" : descr) else {
            throw DatasetError(file: file, location: "header field 'descr'",
                               "dtype '\(descr)' is not supported, expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let fortranText = try field("fortran_order")
        guard fortranText.hasPrefix("False") else {
            throw DatasetError(file: file, location: "header field 'fortran_order'", "Fortran-order arrays are not supported, expected False (C order)")
        }
        let shapeText = try field("shape")
        guard shapeText.first == "(", let closeParen = shapeText.firstIndex(of: ")") else {
            throw DatasetError(file: file, location: "header field 'shape'", "expected a tuple of integers")
        }
        var shape: [Int] = []
        for part in shapeText[shapeText.index(after: shapeText.startIndex)..<closeParen].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let size = Int(trimmed), size >= 0 else {
                throw DatasetError(file: file, location: "header field 'shape'", "'\(trimmed)' is not a dimension size")
            }
            shape.append(size)
        }
        return (dtype, shape)
    }

    // MARK: Writing

    /// The file's bytes: version 1.0, header padded so the data starts at a multiple of 64 as numpy writes it.
    public func encoded() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = header.utf8.count
        return NPYArray.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + bytes
    }

    /// Writes the array atomically: to a temporary file in the same folder, then renamed.
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try Data(encoded()).write(to: url, options: .atomic)
        } catch {
            throw DatasetError(file: path, "cannot write: \(error.localizedDescription)")
        }
    }
}

extension Dataset {
    /// Reads users' own data: images as (N, H, W) or (N, C, H, W) uint8 (0...255) or float32 (used as is),
    /// labels as (N) of uint8, int32 or int64.
    public static func readNPY(images imagesPath: String, labels labelsPath: String, name: String, classCount: Int? = nil) throws -> Dataset {
        let images = try NPYArray.read(imagesPath)
        let labels = try NPYArray.read(labelsPath)
        let shape: (c: Int, h: Int, w: Int)
        switch images.shape.count {
        case 3: shape = (1, images.shape[1], images.shape[2])
        case 4: shape = (images.shape[1], images.shape[2], images.shape[3])
        default:
            throw DatasetError(file: imagesPath, location: "header field 'shape'", "images have shape \(images.shape), expected (N, H, W) or (N, C, H, W)")
        }
        guard labels.shape.count == 1, labels.dtype != .float32 else {
            throw DatasetError(file: labelsPath, location: "header", "labels must be a 1-D integer array, got \(labels.dtype.rawValue) of shape \(labels.shape)")
        }
        guard labels.shape[0] == images.shape[0] else {
            throw DatasetError(file: labelsPath, location: "header field 'shape'", "holds \(labels.shape[0]) labels but \(imagesPath) holds \(images.shape[0]) images")
        }
        let values = labels.integers()
        if let bad = values.firstIndex(where: { $0 < 0 || $0 > Int64(Int32.max) }) {
            throw DatasetError(file: labelsPath, location: "label \(bad)", "value \(values[bad]) is not a class index")
        }
        let classes = classCount ?? Int(values.max() ?? 0) + 1
        let maximum: Float = images.dtype == .uint8 ? 255 : 1
        return try Dataset(name: name, images: images.floats(), labels: values.map { Int32($0) }, channels: shape.c,
                           height: shape.h, width: shape.w, classCount: classes, pixelMaximum: maximum, labelSource: labelsPath)
    }
}
