import CPNG
import CTurboJPEG

/// PNG and JPEG images in memory, decoded and encoded by the system's libpng (simplified API) and
/// libjpeg-turbo (TurboJPEG API): maintained decoders for every variant of either format (palettes, 16-bit,
/// interlacing, progressive JPEG), with errors returned as messages rather than longjmp.
public enum ImageCodec {
    /// 8-bit pixels, rows top to bottom, channels interleaved (H, W, C) with C = 1 (grey) or 3 (RGB).
    public struct Image: Sendable, Equatable {
        public var pixels: [UInt8]
        public let width: Int
        public let height: Int
        public let channels: Int

        public init(pixels: [UInt8], width: Int, height: Int, channels: Int) {
            precondition(channels == 1 || channels == 3, "images are grey or RGB")
            precondition(pixels.count == width * height * channels, "pixel count does not match \(width)×\(height)×\(channels)")
            self.pixels = pixels
            self.width = width
            self.height = height
            self.channels = channels
        }
    }

    public enum Format: String, Sendable { case png, jpeg }

    /// The format by the file's first bytes (not its name): PNG's signature, or JPEG's start-of-image marker.
    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        return nil
    }

    /// Decodes a PNG or JPEG. `channels` 1 converts colour to grey, 3 converts grey to RGB (the libraries do
    /// it; transparency is composited onto black); nil keeps the file's own (grey stays 1, colour becomes 3).
    /// - Parameter file: named in errors.
    public static func decode(_ bytes: [UInt8], channels: Int? = nil, file: String) throws -> Image {
        precondition(channels == nil || channels == 1 || channels == 3, "decode to 1 or 3 channels")
        switch format(of: bytes) {
        case .png: return try decodePNG(bytes, channels: channels, file: file)
        case .jpeg: return try decodeJPEG(bytes, channels: channels, file: file)
        case nil: throw DatasetError(file: file, location: "byte 0", "not a PNG or JPEG image (unknown signature)")
        }
    }

    private static func decodePNG(_ bytes: [UInt8], channels: Int?, file: String) throws -> Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw DatasetError(file: file, "PNG cannot be read: \(message(of: &image))") }
        let isColour = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let count = channels ?? (isColour ? 3 : 1)
        image.format = count == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        let (width, height) = (Int(image.width), Int(image.height))
        guard width > 0, height > 0, width * height <= 1 << 28 else {
            png_image_free(&image)
            throw DatasetError(file: file, "PNG of \(width)×\(height) pixels is empty or too large")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * count)
        let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * count), nil) }
        guard finished != 0 else { throw DatasetError(file: file, "PNG is damaged: \(message(of: &image))") }
        return Image(pixels: pixels, width: width, height: height, channels: count)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    private static func decodeJPEG(_ bytes: [UInt8], channels: Int?, file: String) throws -> Image {
        guard let handle = tjInitDecompress() else { throw DatasetError(file: file, "TurboJPEG could not start a decompressor") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourSpace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colourSpace)
        }
        guard header == 0 else { throw DatasetError(file: file, "JPEG cannot be read: \(String(cString: tjGetErrorStr2(handle)))") }
        let count = channels ?? (colourSpace == Int32(TJCS_GRAY.rawValue) ? 1 : 3)
        guard width > 0, height > 0, Int(width) * Int(height) <= 1 << 28 else {
            throw DatasetError(file: file, "JPEG of \(width)×\(height) pixels is empty or too large")
        }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * count)
        let pixelFormat = Int32(count == 3 ? TJPF_RGB.rawValue : TJPF_GRAY.rawValue)
        let status = bytes.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(handle, source.baseAddress, UInt(source.count), target.baseAddress, width, 0, height, pixelFormat, 0)
            }
        }
        // A warning (a truncated but partly decodable file) is an error too: a training image must be whole.
        guard status == 0 else { throw DatasetError(file: file, "JPEG is damaged: \(String(cString: tjGetErrorStr2(handle)))") }
        return Image(pixels: pixels, width: Int(width), height: Int(height), channels: count)
    }

    /// A PNG file's bytes (8-bit grey or RGB).
    public static func encodePNG(_ source: Image) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(source.width)
        image.height = UInt32(source.height)
        image.format = source.channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        let stride = Int32(source.width * source.channels)
        var size = 0
        guard source.pixels.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }) != 0 else {
            throw DatasetError(file: "PNG encoder", message(of: &image))
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBytes { target in
            source.pixels.withUnsafeBytes { png_image_write_to_memory(&image, target.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard written != 0 else { throw DatasetError(file: "PNG encoder", message(of: &image)) }
        return Array(bytes.prefix(size))
    }

    /// A baseline JPEG file's bytes at `quality` (1...100), without chroma subsampling.
    public static func encodeJPEG(_ source: Image, quality: Int = 95) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw DatasetError(file: "JPEG encoder", "TurboJPEG could not start a compressor") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let pixelFormat = Int32(source.channels == 3 ? TJPF_RGB.rawValue : TJPF_GRAY.rawValue)
        let subsampling = Int32(source.channels == 3 ? TJSAMP_444.rawValue : TJSAMP_GRAY.rawValue)
        let status = source.pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(source.width), 0, Int32(source.height), pixelFormat, &output, &size,
                        subsampling, Int32(quality), 0)
        }
        defer { tjFree(output) }
        guard status == 0, let output else { throw DatasetError(file: "JPEG encoder", String(cString: tjGetErrorStr2(handle))) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
