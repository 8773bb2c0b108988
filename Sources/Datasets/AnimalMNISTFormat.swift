/// Reader for Animal-MNIST, shipped as two gzipped pickles of numpy arrays.
///
/// Rather than interpret numpy's pickle, the reader relies on the fixed layout of the two published files
/// (checked by unpickling them with numpy): after gunzip, the pixel array's raw bytes begin at byte 150 and
/// the labels' at byte 146, each preceded by a pickle BINBYTES opcode ('B') and a little-endian UInt32 byte
/// length. Checking the exact total size, the opcode and that length rejects any other or damaged file.
enum AnimalMNISTFormat {
    static let imageCount = 10_000
    static let side = 28
    static let pixelsStart = 150
    static let pixelsFileSize = 7_840_164
    static let labelsStart = 146
    static let labelsFileSize = 80_160

    /// Returns the payload of a pickled numpy array of the known layout.
    static func payload(_ bytes: [UInt8], file: String, start: Int, fileSize: Int, payloadSize: Int) throws -> ArraySlice<UInt8> {
        guard bytes.count == fileSize else {
            throw DatasetError(file: file, "decompressed size is \(bytes.count) bytes, expected \(fileSize) (truncated or not the Animal-MNIST file)")
        }
        guard bytes[0] == 0x80 else {
            throw DatasetError(file: file, location: "byte 0", "not a pickle (first byte \(bytes[0]), expected 0x80 PROTO)")
        }
        let opcode = start - 5
        guard bytes[opcode] == UInt8(ascii: "B") else {
            throw DatasetError(file: file, location: "byte \(opcode)", "expected the pickle BINBYTES opcode 'B' before the array data")
        }
        let length = Int(bytes[opcode + 1]) | Int(bytes[opcode + 2]) << 8 | Int(bytes[opcode + 3]) << 16 | Int(bytes[opcode + 4]) << 24
        guard length == payloadSize else {
            throw DatasetError(file: file, location: "byte \(opcode + 1)", "array holds \(length) bytes, expected \(payloadSize)")
        }
        return bytes[start..<(start + payloadSize)]
    }
}

extension Dataset {
    /// Reads Animal-MNIST: 10,000 28×28 grey silhouettes in 10 classes.
    public static func readAnimalMNIST(images imagesPath: String, labels labelsPath: String, name: String = "animal-mnist") throws -> Dataset {
        let count = AnimalMNISTFormat.imageCount
        let side = AnimalMNISTFormat.side
        let pixelBytes = try FileBytes.read(imagesPath)
        let pixels = try AnimalMNISTFormat.payload(pixelBytes, file: imagesPath, start: AnimalMNISTFormat.pixelsStart,
                                                   fileSize: AnimalMNISTFormat.pixelsFileSize, payloadSize: count * side * side)
        let labelBytes = try FileBytes.read(labelsPath)
        let raw = try AnimalMNISTFormat.payload(labelBytes, file: labelsPath, start: AnimalMNISTFormat.labelsStart,
                                                fileSize: AnimalMNISTFormat.labelsFileSize, payloadSize: count * 8)
        var labels = [Int32](repeating: 0, count: count)
        for sample in 0..<count {
            var value: Int64 = 0
            for byte in 0..<8 { value |= Int64(raw[raw.startIndex + sample * 8 + byte]) << (8 * byte) }
            guard value >= 0 && value < 10 else {
                throw DatasetError(file: labelsPath, location: "label \(sample)", "value \(value) is outside 0..<10")
            }
            labels[sample] = Int32(value)
        }
        return try Dataset(name: name, pixels: Array(pixels), pixelMaximum: 255, labels: labels, channels: 1,
                           height: side, width: side, classCount: 10, labelSource: labelsPath)
    }
}
