import CZlib

/// Decompression and compression through zlib.
///
/// gzip files (datasets) and deflate-compressed zip entries (checkpoints) share this one wrapper so that
/// stream handling, truncation and corruption checks are written once.
public enum Zlib {
    /// True when the bytes start with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses a whole gzip file (one or more members, as `gzip -d` accepts).
    /// - Throws: `InflateError` on a bad header, corrupt data, a CRC mismatch or a truncated stream.
    public static func gunzip(_ compressed: [UInt8]) throws -> [UInt8] {
        guard isGzip(compressed) else { throw InflateError("not gzip data (missing magic bytes 1f 8b)") }
        guard compressed.count >= 18 else { throw InflateError("gzip data truncated: only \(compressed.count) bytes") }
        // The trailer's ISIZE (size modulo 2^32 of the last member) is a good first guess of the output size.
        let tail = compressed.count - 4
        let sizeHint = Int(compressed[tail]) | Int(compressed[tail + 1]) << 8 | Int(compressed[tail + 2]) << 16 | Int(compressed[tail + 3]) << 24
        // 16 + MAX_WBITS asks zlib to parse and check the gzip header and trailer.
        // A damaged trailer can claim gigabytes; deflate never expands more than about 1032 times, so cap it.
        let plausibleHint = min(sizeHint, compressed.count * 1032)
        return try inflate(compressed, windowBits: 16 + MAX_WBITS, sizeHint: plausibleHint, allowConcatenatedMembers: true)
    }

    /// Decompresses raw deflate data (no header), as stored in zip entries with method 8.
    public static func inflateRaw(_ compressed: [UInt8], expectedSize: Int) throws -> [UInt8] {
        // Sizes come from the archive's directory, which may be damaged: never allocate more than deflate
        // could produce from this input, and stop as soon as the output would exceed what was promised.
        let output = try inflate(compressed, windowBits: -MAX_WBITS, sizeHint: min(expectedSize, compressed.count * 1032),
                                 allowConcatenatedMembers: false, limit: expectedSize)
        guard output.count == expectedSize else {
            throw InflateError("deflate stream gave \(output.count) bytes, expected \(expectedSize)")
        }
        return output
    }

    /// Compresses bytes into the gzip format (used to write test fixtures and users' files).
    public static func gzip(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init2(&stream, level, 16 + MAX_WBITS) == Z_OK else { throw InflateError("deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        var input = bytes
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw InflateError("deflate did not finish (status \(status))") }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// CRC-32 as zip and gzip use it.
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }

    private static func inflate(_ compressed: [UInt8], windowBits: Int32, sizeHint: Int, allowConcatenatedMembers: Bool,
                                limit: Int = Int.max) throws -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init2(&stream, windowBits) == Z_OK else { throw InflateError("inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(sizeHint, 1024))
        var produced = 0
        try compressed.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            while true {
                if produced > limit { throw InflateError("stream decompresses to more than the expected \(limit) bytes") }
                if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
                let status = output.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress! + produced
                    stream.avail_out = uInt(target.count - produced)
                    let before = stream.avail_out
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced += Int(before - stream.avail_out)
                    return status
                }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // A gzip file may hold several members back to back; anything else after the end is junk.
                    if stream.avail_in == 0 { return }
                    guard allowConcatenatedMembers else {
                        throw InflateError("\(stream.avail_in) unexpected bytes after the end of the deflate stream")
                    }
                    guard inflateReset(&stream) == Z_OK else { throw InflateError("inflateReset failed") }
                case Z_BUF_ERROR:
                    // No progress possible: either the output is full (grow it) or the input ran out (truncated).
                    if stream.avail_out == 0 { continue }
                    throw InflateError("compressed data truncated after \(produced) decompressed bytes")
                case Z_DATA_ERROR:
                    let reason = stream.msg.map { String(cString: $0) } ?? "invalid data"
                    throw InflateError("corrupt compressed data (\(reason)) after \(produced) decompressed bytes")
                case Z_MEM_ERROR:
                    throw InflateError("zlib ran out of memory")
                default:
                    throw InflateError("zlib inflate failed with status \(status)")
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }
}
