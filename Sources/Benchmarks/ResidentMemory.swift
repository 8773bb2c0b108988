#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's peak resident set size. It only ever grows, so each memory measurement runs in a process of
/// its own (`l3rs bench --case …`).
public enum ResidentMemory {
    /// getrusage's ru_maxrss in bytes (Linux reports kibibytes, macOS bytes).
    public static var peakBytes: Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }
}
