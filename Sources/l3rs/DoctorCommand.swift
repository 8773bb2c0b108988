import ArgumentParser
import Distributed
import Foundation
import Kernels

/// `l3rs doctor`: is this job laid out well? Which rank runs where with how many BLAS threads, how fast allreduce
/// is at a few message sizes, and warnings for layouts that make training slow (oversubscribed cores, idle cores,
/// too many BLAS threads) or fragile (a launcher from another Open MPI installation than the library).
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Print where each rank runs and with how many BLAS threads, time allreduce from 4 KB to 16 MB, and warn about poor layouts.",
        discussion: "Run it the way the job will run: `mpirun -np 4 --hostfile H l3rs doctor`, `srun --mpi=pmix l3rs doctor`."
    )

    @OptionGroup var distributed: DistributedOptions

    @Option(help: "The job's global batch, for the ranks × threads advice (at least 32 images per rank).")
    var globalBatch: Int = 128

    @Option(help: "Message sizes of the allreduce test, in bytes (repeatable).")
    var bytes: [Int] = AllreduceBenchmark.defaultSizes

    func validate() throws {
        guard bytes.allSatisfy({ $0 >= 4 }) else { throw ValidationError("--bytes must be at least 4 (one float)") }
        guard globalBatch > 0 else { throw ValidationError("--global-batch must be positive") }
    }

    func run() throws {
        do {
            try runOnRank(distributed) { communicator in try doctor(communicator) }
        } catch ExitCodeError.failure {
            throw ExitCode.failure
        }
    }

    private func doctor(_ communicator: any Communicator) throws {
        let mine = RankPlacement.current(communicator, blasCore: BLASInfo.coreName, blasThreads: ComputeThreads.count)
        let placements = try communicator.allgather(mine.encoded).compactMap(RankPlacement.init(encoded:))
        let results = try AllreduceBenchmark.run(communicator, sizes: bytes)
        guard communicator.isRoot else { return }

        let launcher = LauncherDescription.current()
        printLine("l3rs \(L3RSVersion.string) doctor: \(communicator.size) rank(s), \(communicator.implementationName); launcher \(launcher.name)\(launcher.version.map { " (\($0))" } ?? "")")
        printLine("")
        printLine(table(["rank", "host", "pid", "local rank", "cores on node", "cores allowed", "BLAS core", "threads"],
                        placements.map { p in
                            [String(p.rank), p.host, String(p.processID), "\(p.localRank)/\(p.localSize)", String(p.onlineCores),
                             String(p.allowedCores), p.blasCore, String(p.blasThreads)]
                        }))
        printLine("threads per rank: \(ComputeThreads.count) on rank 0 (the worker pool, which runs the matrix products in blocks "
                  + "and every other parallel loop; OPENBLAS_NUM_THREADS sets it, or the cores when unset).")
        let hosts = Set(placements.map(\.host))
        let cores = placements.map(\.onlineCores).min() ?? 1
        let advised = PlacementAdvice.suggestedLayout(cores: cores, nodes: hosts.count, globalBatch: globalBatch)
        printLine("advice for a global batch of \(globalBatch) on \(hosts.count) node(s) of \(cores) cores: \(advised.ranks) rank(s) × "
                  + "\(advised.threads) thread(s) per node (mpirun --map-by slot:PE=\(advised.threads) -x OPENBLAS_NUM_THREADS=\(advised.threads)). "
                  + "Ranks first: each splits the batch and every pass, while a thread speeds up only the pool's share of a step "
                  + "(docs/performance.md, Branch threads); threads where more ranks would leave fewer than "
                  + "\(PlacementAdvice.minimumImagesPerRank) images per rank or not fit in memory.")
        printLine("")
        printLine("allreduce (sum of floats) over \(communicator.size) rank(s), slowest rank, mean of the calls:")
        printLine(table(["size", "calls", "time", "algbw GB/s", "busbw GB/s"], results.map { r in
            [Self.size(r.bytes), String(r.repetitions), Self.duration(r.seconds),
             String(format: "%.3f", r.algorithmBandwidth), String(format: "%.3f", r.busBandwidth)]
        }))
        printLine("")
        let warnings = PlacementAdvice.warnings(placements, launcherVersion: launcher.version,
                                                libraryVersion: MPIEnvironment.isActive ? MPIEnvironment.libraryVersion : nil)
        if warnings.isEmpty {
            printLine("no warnings")
        } else {
            for warning in warnings { printLine("warning: \(warning)") }
        }
    }

    /// Columns padded to their widest cell; numbers and names alike are left-aligned for easy grepping.
    private func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KB" }
        return "\(bytes) B"
    }

    static func duration(_ seconds: Double) -> String {
        if seconds >= 1 { return String(format: "%.2f s", seconds) }
        if seconds >= 1e-3 { return String(format: "%.3f ms", seconds * 1e3) }
        return String(format: "%.1f us", seconds * 1e6)
    }
}

/// Which launcher started this process, and the Open MPI version it belongs to (for the mismatch check).
struct LauncherDescription {
    let name: String
    let version: String?

    static func current() -> LauncherDescription {
        let environment = ProcessInfo.processInfo.environment
        let name: String
        if environment["OMPI_COMM_WORLD_SIZE"] != nil {
            name = "mpirun"
        } else if environment["SLURM_STEP_ID"] != nil, environment["PMIX_RANK"] != nil {
            name = "srun (PMIx)"
        } else if MPIEnvironment.isLaunchedByMPI {
            name = "PMI/PMIx"
        } else {
            name = "none"
        }
        if let version = environment["OMPI_VERSION"], !version.isEmpty { return LauncherDescription(name: name, version: version) }
        return LauncherDescription(name: name, version: ompiInfoVersion())
    }

    /// `ompi_info -V` of the Open MPI on PATH ("Open MPI v4.1.4"): the installation whose mpirun a job uses.
    private static func ompiInfoVersion() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ompi_info", "-V"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
    }
}
