import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new one, never a partial write:
/// the bytes go to a temporary file in the same folder (same file system, so the rename is atomic), are
/// flushed to disk with fsync, and the temporary file is renamed over the target. The writes are plain POSIX
/// calls so that a failure names the operating system's reason ("No space left on device", "File too large"),
/// which Foundation's FileHandle reduces to "The operation could not be completed".
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CheckpointError(file: path, "cannot create the temporary file \(temporary): \(String(cString: strerror(errno)))"
                                  + " (does the folder exist and is it writable?)")
        }
        if let reason = writeAll(bytes, to: descriptor) {
            close(descriptor)
            unlink(temporary)
            throw CheckpointError(file: path, "writing failed: \(reason)")
        }
        guard close(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError(file: path, "writing failed: \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError(file: path, "renaming the temporary file into place failed: \(reason)")
        }
    }
}

/// Writes every byte and fsyncs; the operating system's reason on failure, nil on success.
private func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> String? {
    let failure: Int32? = bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return fsync(descriptor) == 0 ? nil : errno
    }
    return failure.map { String(cString: strerror($0)) }
}
