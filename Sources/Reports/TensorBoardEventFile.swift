import Foundation

/// A TensorBoard event file (`events.out.tfevents.*`) of scalar curves, so `tensorboard --logdir runs/` shows
/// every run's metrics while it trains. The file is TFRecord framing (length, masked CRC-32C of the length,
/// data, masked CRC-32C of the data) around `Event` protos: the first carries `file_version`, each later one
/// a step's `summary { value { tag, simple_value } }`.
public final class TensorBoardEventFile {
    public let url: URL
    private let handle: FileHandle

    /// Creates (replacing any earlier file of the name) and writes the version record.
    public init(url: URL, wallTime: Double) throws {
        self.url = url
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.string(3, "brain.Event:2")
        try handle.write(contentsOf: Self.record(event.bytes))
    }

    deinit { try? handle.close() }

    /// Appends one event holding a scalar per (tag, value); non-finite values are left out.
    public func append(step: Int64, wallTime: Double, scalars: [(tag: String, value: Double)]) throws {
        var summary = ProtobufWriter()
        for (tag, value) in scalars where value.isFinite {
            var entry = ProtobufWriter()
            entry.string(1, tag)
            entry.float(2, Float(value))
            summary.lengthDelimited(1, entry.bytes)
        }
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int64(2, step)
        event.lengthDelimited(5, summary.bytes)
        try handle.write(contentsOf: Self.record(event.bytes))
    }

    /// TFRecord framing of one payload.
    static func record(_ payload: [UInt8]) -> Data {
        var out = Data()
        let length = UInt64(payload.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: length) { Array($0) }
        out.append(contentsOf: lengthBytes)
        withUnsafeBytes(of: CRC32C.masked(lengthBytes).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
        withUnsafeBytes(of: CRC32C.masked(payload).littleEndian) { out.append(contentsOf: $0) }
        return out
    }
}
