/// Judges a job's layout: what makes it slow or fragile without making it fail. Pure, so it is tested with made-up
/// layouts; `l3rs doctor` prints its warnings.
///
/// The rules follow from how the ranks share a node: every rank computes on its worker pool's threads (which run
/// its matrix products too; `RankPlacement.blasThreads` is that count), so the node is well used when ranks ×
/// threads equals its cores; more means threads fight over cores (each step waits
/// for the slowest rank), fewer leaves cores idle.
public enum PlacementAdvice {
    /// Warnings for `placements` (one per rank, any order) and the two Open MPI versions, if known.
    public static func warnings(_ placements: [RankPlacement], launcherVersion: String?, libraryVersion: String?) -> [String] {
        var warnings: [String] = []
        var hosts: [String] = []
        for placement in placements where !hosts.contains(placement.host) { hosts.append(placement.host) }
        for host in hosts {
            let ranks = placements.filter { $0.host == host }
            let cores = ranks.map(\.onlineCores).max() ?? 1
            let threads = ranks.map(\.blasThreads).max() ?? 1
            let count = ranks.count
            if count > cores {
                warnings.append("\(host): \(count) ranks on \(cores) cores: oversubscribed, ranks wait for each other's time slices; run at most \(cores) ranks on this node")
            } else if count * threads > cores {
                warnings.append("\(host): \(count) ranks × \(threads) threads = \(count * threads) threads on \(cores) cores: set OPENBLAS_NUM_THREADS=\(max(1, cores / count))")
            } else if threads == 1 && count < cores {
                warnings.append("\(host): 1 thread per rank and \(count) rank(s) leave \(cores - count) of \(cores) cores idle: set OPENBLAS_NUM_THREADS=\(cores / count) and give each rank that many cores (mpirun --map-by slot:PE=\(cores / count), srun --cpus-per-task=\(cores / count))")
            }
            for placement in ranks where placement.blasThreads > placement.allowedCores {
                warnings.append("rank \(placement.rank) on \(host) may run on \(placement.allowedCores) core(s) but runs \(placement.blasThreads) threads: bind it to more cores (--bind-to none, --map-by slot:PE=\(placement.blasThreads)) or set OPENBLAS_NUM_THREADS=\(placement.allowedCores)")
            }
        }
        if let launcher = launcherVersion.flatMap(MPIVersion.number(in:)),
           let library = libraryVersion.flatMap(MPIVersion.number(in:)), launcher != library {
            warnings.append("Open MPI versions differ: the launcher is \(launcher), the library this program loaded is \(library); mixing them can fail at start-up or in collectives, so use the mpirun of the same installation")
        }
        return warnings
    }
}

extension PlacementAdvice {
    /// Images per rank below which a further rank is not worth its cost (docs/performance.md: the per-rank
    /// overhead of a step, its allreduce and optimizer update, grows against a shrinking share of the batch).
    public static let minimumImagesPerRank = 32

    /// Ranks × threads per node for `nodes` nodes of `cores` cores and a global batch of `globalBatch`: ranks first
    /// (a rank splits the batch and every pass of the step; measured on 2 cores, 2 ranks × 1 thread step 1.8–1.95×
    /// faster than 1 rank, where 1 rank × 2 threads gains what only its pool-parallel work gains), as many as keep
    /// at least `minimumImagesPerRank` images each, a divisor of the cores; the cores left become threads, so ranks ×
    /// threads = cores.
    public static func suggestedLayout(cores: Int, nodes: Int, globalBatch: Int) -> (ranks: Int, threads: Int) {
        let cores = max(1, cores)
        let byBatch = max(1, globalBatch / (minimumImagesPerRank * max(1, nodes)))
        let ranks = (1...cores).last { cores % $0 == 0 && $0 <= byBatch } ?? 1
        return (ranks, cores / ranks)
    }
}

/// Version numbers in Open MPI's texts ("Open MPI v4.1.4, package: Debian ...", "mpirun (Open MPI) 4.1.4").
public enum MPIVersion {
    /// The first dotted number ("4.1.4") in `text`, or nil.
    public static func number(in text: String) -> String? {
        var best = ""
        var current = ""
        func finish() {
            let trimmed = current.hasSuffix(".") ? String(current.dropLast()) : current
            if best.isEmpty && trimmed.contains(".") { best = trimmed }
            current = ""
        }
        for character in text {
            if character.isASCII && character.isNumber {
                current.append(character)
            } else if character == "." && !current.isEmpty && !current.hasSuffix(".") {
                current.append(character)
            } else {
                finish()
            }
        }
        finish()
        return best.isEmpty ? nil : best
    }
}
