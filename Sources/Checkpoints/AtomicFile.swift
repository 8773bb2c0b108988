import Foundation

/// Writes a file so that readers see either the old file or the complete new one, never a partial write:
/// the bytes go to a temporary file in the same folder (same file system, so the rename is atomic), are
/// flushed to disk with fsync, and the temporary file is renamed over the target.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw CheckpointError(file: path, "cannot create the temporary file \(temporary) (does the folder exist and is it writable?)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            defer { try? handle.close() }
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CheckpointError(file: path, "writing failed: \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw CheckpointError(file: path, "renaming the temporary file into place failed: \(reason)")
        }
    }
}
