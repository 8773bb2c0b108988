/// The IDX format of (Fashion-)MNIST: a 4-byte magic number (two zero bytes, a dtype code, the number of
/// dimensions), one big-endian UInt32 per dimension, then the elements in row-major order.
///
/// Only unsigned bytes (dtype 0x08) are accepted because every dataset L3RS reads stores pixels and labels that
/// way; any other dtype is reported by name rather than misread.
public struct IDXArray: Sendable, Equatable {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    /// Reads an IDX file, gzipped or raw, and checks the header against the file size.
    public static func read(_ path: String) throws -> IDXArray {
        try parse(FileBytes.read(path), file: path)
    }

    static func parse(_ bytes: [UInt8], file: String) throws -> IDXArray {
        guard bytes.count >= 4 else {
            throw DatasetError(file: file, location: "byte 0", "IDX header truncated: \(bytes.count) bytes, expected at least 4")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DatasetError(file: file, location: "byte 0", "not an IDX file: magic starts \(hex(bytes[0])) \(hex(bytes[1])), expected 00 00")
        }
        guard bytes[2] == 0x08 else {
            throw DatasetError(file: file, location: "byte 2", "IDX dtype \(hex(bytes[2])) (\(dtypeName(bytes[2]))) is not supported, expected 0x08 (unsigned byte)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw DatasetError(file: file, location: "byte 3", "IDX file with 0 dimensions, expected at least 1") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DatasetError(file: file, location: "byte 4", "IDX header truncated: \(rank) dimensions need \(headerSize) bytes, file has \(bytes.count)")
        }
        var dimensions: [Int] = []
        var elements = 1
        for axis in 0..<rank {
            let at = 4 + 4 * axis
            let size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            dimensions.append(size)
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else { throw DatasetError(file: file, location: "byte \(at)", "IDX dimensions overflow") }
            elements = product
        }
        guard bytes.count == headerSize + elements else {
            throw DatasetError(file: file, "IDX dimensions \(dimensions) need \(headerSize + elements) bytes, file has \(bytes.count) (truncated or wrong header)")
        }
        return IDXArray(dimensions: dimensions, bytes: Array(bytes[headerSize...]))
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return digits.count == 1 ? "0x0" + digits : "0x" + digits
    }

    private static func dtypeName(_ code: UInt8) -> String {
        switch code {
        case 0x09: "signed byte"
        case 0x0B: "int16"
        case 0x0C: "int32"
        case 0x0D: "float32"
        case 0x0E: "float64"
        default: "unknown"
        }
    }
}

extension Dataset {
    /// Builds a dataset from an IDX image file (N, H, W) and an IDX label file (N), as (Fashion-)MNIST ships.
    public static func readIDX(images imagesPath: String, labels labelsPath: String, name: String, classCount: Int) throws -> Dataset {
        let images = try IDXArray.read(imagesPath)
        let labels = try IDXArray.read(labelsPath)
        guard images.dimensions.count == 3 else {
            throw DatasetError(file: imagesPath, location: "header", "image file has dimensions \(images.dimensions), expected 3 (count, height, width)")
        }
        guard labels.dimensions.count == 1 else {
            throw DatasetError(file: labelsPath, location: "header", "label file has dimensions \(labels.dimensions), expected 1 (count)")
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError(file: labelsPath, location: "header", "holds \(labels.dimensions[0]) labels but \(imagesPath) holds \(images.dimensions[0]) images")
        }
        return try Dataset(
            name: name,
            pixels: images.bytes, pixelMaximum: 255,
            labels: labels.bytes.map { Int32($0) },
            channels: 1, height: images.dimensions[1], width: images.dimensions[2],
            classCount: classCount, labelSource: labelsPath)
    }
}
