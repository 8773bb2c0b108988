import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a run folder, so two processes never train into the same runs/NAME/ (their metrics,
/// checkpoints and summary would interleave). The lock is `flock` on runs/NAME/run.lock, which the kernel
/// releases when the holder dies however it dies; the file holds "HOST PID" of the holder for messages and is
/// emptied on a clean release, so a non-empty file that can be locked is a stale lock of a process that died.
/// On file systems without flock (some network mounts) a lock file naming a live process on this host refuses.
public final class RunLock {
    public static let fileName = "run.lock"

    public let path: String
    private let descriptor: Int32
    /// "HOST PID" of a holder that died without releasing (the lock was taken over), or nil.
    public let staleOwner: String?

    /// Takes the lock of `folder` (which must exist) or throws `RunError.locked` naming the holder.
    public init(folder: URL) throws {
        path = folder.appendingPathComponent(Self.fileName).path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RunError.lockUnavailable(path: path, reason: String(cString: strerror(errno)))
        }
        let previous = Self.contents(descriptor)
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            if failure == EWOULDBLOCK || failure == EAGAIN || !Self.holderIsGone(previous) {
                close(descriptor)
                throw RunError.locked(path: path, owner: previous.isEmpty ? "another process" : previous)
            }
        }
        staleOwner = previous.isEmpty ? nil : previous
        let owner = Array("\(Self.hostName) \(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = owner.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        _ = fsync(descriptor)
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        close(descriptor)  // releases the flock
    }

    static var hostName: String { ProcessInfo.processInfo.hostName }

    /// The lock file's text ("HOST PID"), trimmed.
    private static func contents(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        return String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Without flock: the holder named in the file is gone when it ran on this host and its pid is not alive.
    private static func holderIsGone(_ owner: String) -> Bool {
        let parts = owner.split(separator: " ")
        guard parts.count == 2, let pid = Int32(parts[1]) else { return owner.isEmpty }
        guard String(parts[0]) == hostName else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
