import Inflate

/// A read-only zip archive in memory, as `torch.save` writes them: entries found through the central
/// directory (the authoritative index at the end of the file), stored or deflate-compressed, each checked
/// against its CRC-32. Zip64 is read (torch writes it for checkpoints past 4 GiB or 65,535 entries: the end
/// record's fields saturate and the real values sit in the Zip64 end record and each entry's extra field);
/// encryption is rejected by name.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let uncompressedSize: Int
        let crc: UInt32
        let localHeaderOffset: Int
    }

    let file: String
    let bytes: [UInt8]
    let entries: [Entry]

    static let localSignature: UInt32 = 0x0403_4B50
    static let centralSignature: UInt32 = 0x0201_4B50
    static let endSignature: UInt32 = 0x0605_4B50

    static func isZip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B && bytes[2] == 0x03 && bytes[3] == 0x04
    }

    init(_ bytes: [UInt8], file: String) throws {
        self.file = file
        self.bytes = bytes
        // The end-of-central-directory record is 22 bytes plus a comment of up to 65,535 bytes.
        guard bytes.count >= 22 else { throw CheckpointError(file: file, "zip: file of \(bytes.count) bytes is too short") }
        var endOffset: Int?
        for candidate in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65_535), by: -1)
        where ZipArchive.read32(bytes, candidate) == ZipArchive.endSignature {
            endOffset = candidate
            break
        }
        guard let end = endOffset else {
            throw CheckpointError(file: file, "zip: no end-of-central-directory record (truncated file?)")
        }
        var entryCount = Int(ZipArchive.read16(bytes, end + 10))
        var directorySize = Int(ZipArchive.read32(bytes, end + 12))
        var directoryOffset = Int(ZipArchive.read32(bytes, end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64: a 20-byte locator right before the end record points at the Zip64 end record.
            let locator = end - 20
            guard locator >= 56, ZipArchive.read32(bytes, locator) == ZipArchive.zip64LocatorSignature else {
                throw CheckpointError(file: file, "zip: the end record says Zip64 but there is no Zip64 locator before it")
            }
            let record = ZipArchive.read64(bytes, locator + 8)
            guard record <= UInt64(locator - 56), ZipArchive.read32(bytes, Int(record)) == ZipArchive.zip64EndSignature else {
                throw CheckpointError(file: file, "zip: Zip64 end record at byte \(record) is missing or damaged")
            }
            let count = ZipArchive.read64(bytes, Int(record) + 32), size = ZipArchive.read64(bytes, Int(record) + 40)
            let offset = ZipArchive.read64(bytes, Int(record) + 48)
            guard count <= UInt64(bytes.count), size <= UInt64(bytes.count), offset <= UInt64(bytes.count) else {
                throw CheckpointError(file: file, "zip: Zip64 end record holds impossible values (\(count) entries, directory of \(size) bytes at \(offset))")
            }
            (entryCount, directorySize, directoryOffset) = (Int(count), Int(size), Int(offset))
        }
        guard directoryOffset + directorySize <= end else {
            throw CheckpointError(file: file, "zip: central directory at \(directoryOffset) (+\(directorySize)) runs past its end record at \(end)")
        }
        var entries: [Entry] = []
        var at = directoryOffset
        for index in 0..<entryCount {
            guard at + 46 <= end, ZipArchive.read32(bytes, at) == ZipArchive.centralSignature else {
                throw CheckpointError(file: file, "zip: central directory entry \(index) at byte \(at) is damaged")
            }
            let flags = ZipArchive.read16(bytes, at + 8)
            let nameLength = Int(ZipArchive.read16(bytes, at + 28))
            let extraLength = Int(ZipArchive.read16(bytes, at + 30))
            let commentLength = Int(ZipArchive.read16(bytes, at + 32))
            guard at + 46 + nameLength <= end else { throw CheckpointError(file: file, "zip: entry \(index) name runs past the directory") }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            guard flags & 1 == 0 else { throw CheckpointError(file: file, "zip: entry \(name) is encrypted") }
            // Saturated 32-bit fields continue, in this order, in the Zip64 extra field (header id 1).
            var uncompressedSize = UInt64(ZipArchive.read32(bytes, at + 24))
            var compressedSize = UInt64(ZipArchive.read32(bytes, at + 20))
            var localHeaderOffset = UInt64(ZipArchive.read32(bytes, at + 42))
            if [uncompressedSize, compressedSize, localHeaderOffset].contains(0xFFFF_FFFF) {
                guard var field = ZipArchive.zip64Field(bytes, from: at + 46 + nameLength, count: extraLength, end: end) else {
                    throw CheckpointError(file: file, "zip: entry \(name) has saturated sizes but no Zip64 extra field")
                }
                func next(_ value: inout UInt64, _ what: String) throws {
                    guard value == 0xFFFF_FFFF else { return }
                    guard field.count >= 8 else { throw CheckpointError(file: file, "zip: entry \(name): Zip64 extra field lacks the \(what)") }
                    value = ZipArchive.read64(Array(field.prefix(8)), 0)
                    field.removeFirst(8)
                }
                try next(&uncompressedSize, "uncompressed size")
                try next(&compressedSize, "compressed size")
                try next(&localHeaderOffset, "local header offset")
            }
            let limit = UInt64(bytes.count)
            guard localHeaderOffset < limit, compressedSize <= limit, uncompressedSize <= UInt64(Int.max / 2) else {
                throw CheckpointError(file: file, "zip: entry \(name): sizes \(compressedSize)/\(uncompressedSize) at byte \(localHeaderOffset) do not fit a file of \(bytes.count) bytes")
            }
            entries.append(Entry(name: name, method: ZipArchive.read16(bytes, at + 10), compressedSize: Int(compressedSize),
                                 uncompressedSize: Int(uncompressedSize), crc: ZipArchive.read32(bytes, at + 16),
                                 localHeaderOffset: Int(localHeaderOffset)))
            at += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The entry's decompressed contents, CRC-checked.
    func contents(of entry: Entry) throws -> [UInt8] {
        let at = entry.localHeaderOffset
        guard at + 30 <= bytes.count, ZipArchive.read32(bytes, at) == ZipArchive.localSignature else {
            throw CheckpointError(file: file, "zip: entry \(entry.name): local header at byte \(at) is missing or damaged")
        }
        // The local header's name and extra lengths can differ from the central directory's (torch pads
        // entries with extra fields for alignment), so the data offset is computed from the local header.
        let dataStart = at + 30 + Int(ZipArchive.read16(bytes, at + 26)) + Int(ZipArchive.read16(bytes, at + 28))
        guard dataStart + entry.compressedSize <= bytes.count else {
            throw CheckpointError(file: file, "zip: entry \(entry.name): \(entry.compressedSize) bytes at \(dataStart) run past the end of the file (truncated?)")
        }
        let stored = Array(bytes[dataStart..<(dataStart + entry.compressedSize)])
        let contents: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw CheckpointError(file: file, "zip: stored entry \(entry.name) has different compressed and uncompressed sizes")
            }
            contents = stored
        case 8:
            do {
                contents = try Zlib.inflateRaw(stored, expectedSize: entry.uncompressedSize)
            } catch let error as InflateError {
                throw CheckpointError(file: file, "zip: entry \(entry.name): \(error.description)")
            }
        default:
            throw CheckpointError(file: file, "zip: entry \(entry.name) uses compression method \(entry.method); only stored (0) and deflate (8) are supported")
        }
        let crc = Zlib.crc32(contents)
        guard crc == entry.crc else {
            throw CheckpointError(file: file, "zip: entry \(entry.name): CRC-32 mismatch (stored \(String(entry.crc, radix: 16)), computed \(String(crc, radix: 16))); the file is corrupted")
        }
        return contents
    }

    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50

    /// The data of the Zip64 extra field (header id 1) among the extra fields at `from`, if present.
    static func zip64Field(_ bytes: [UInt8], from: Int, count: Int, end: Int) -> ArraySlice<UInt8>? {
        var at = from
        while at + 4 <= min(from + count, end) {
            let id = read16(bytes, at), size = Int(read16(bytes, at + 2))
            guard at + 4 + size <= from + count else { return nil }
            if id == 1 { return bytes[(at + 4)..<(at + 4 + size)] }
            at += 4 + size
        }
        return nil
    }

    static func read64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(read32(bytes, at)) | UInt64(read32(bytes, at + 4)) << 32
    }

    static func read16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        guard at + 2 <= bytes.count else { return 0 }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        guard at + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
