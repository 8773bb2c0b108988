#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one rank runs and with how many threads: what `l3rs doctor` gathers from every rank to print the job's
/// layout and to judge it (`PlacementAdvice`).
public struct RankPlacement: Sendable, Equatable {
    public var rank: Int
    public var host: String
    public var processID: Int
    public var localRank: Int
    /// Ranks on this rank's node.
    public var localSize: Int
    /// Cores (logical CPUs) online on the node.
    public var onlineCores: Int
    /// Cores this process may run on (its CPU affinity mask: one when the launcher binds each rank to a core).
    public var allowedCores: Int
    /// OpenBLAS's CPU kernel ("SkylakeX").
    public var blasCore: String
    /// Threads OpenBLAS uses in one call.
    public var blasThreads: Int

    public init(rank: Int, host: String, processID: Int, localRank: Int, localSize: Int, onlineCores: Int,
                allowedCores: Int, blasCore: String, blasThreads: Int) {
        self.rank = rank
        self.host = host
        self.processID = processID
        self.localRank = localRank
        self.localSize = localSize
        self.onlineCores = onlineCores
        self.allowedCores = allowedCores
        self.blasCore = blasCore
        self.blasThreads = blasThreads
    }

    /// This process's placement in `communicator`'s world; the BLAS facts come from the caller (Kernels).
    public static func current(_ communicator: any Communicator, blasCore: String, blasThreads: Int) -> RankPlacement {
        RankPlacement(rank: communicator.rank, host: communicator.hostName, processID: Int(getpid()),
                      localRank: communicator.localRank, localSize: communicator.localSize,
                      onlineCores: onlineCoreCount(), allowedCores: allowedCoreCount(),
                      blasCore: blasCore, blasThreads: blasThreads)
    }

    /// One line of tab-separated fields, for `Communicator.allgather`.
    public var encoded: String {
        [String(rank), host, String(processID), String(localRank), String(localSize), String(onlineCores),
         String(allowedCores), blasCore, String(blasThreads)].joined(separator: "\t")
    }

    /// The inverse of `encoded`; nil for a line that is not one.
    public init?(encoded: String) {
        let fields = encoded.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 9, let rank = Int(fields[0]), let pid = Int(fields[2]), let localRank = Int(fields[3]),
              let localSize = Int(fields[4]), let online = Int(fields[5]), let allowed = Int(fields[6]),
              let threads = Int(fields[8]) else { return nil }
        self.init(rank: rank, host: fields[1], processID: pid, localRank: localRank, localSize: localSize,
                  onlineCores: online, allowedCores: allowed, blasCore: fields[7], blasThreads: threads)
    }
}

/// Logical CPUs online on this machine.
public func onlineCoreCount() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

/// Logical CPUs this process may run on (its affinity mask, read from /proc/self/status because glibc's
/// sched_getaffinity is not visible to Swift), or all online ones where that cannot be read.
public func allowedCoreCount() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return onlineCoreCount() }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("Cpus_allowed:") else { continue }
        // A hexadecimal mask in groups of 32 bits: "Cpus_allowed:\t00000000,00000003".
        let count = text.dropFirst("Cpus_allowed:".count).reduce(0) { sum, character in
            sum + (character.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        return count > 0 ? count : onlineCoreCount()
    }
    return onlineCoreCount()
}
