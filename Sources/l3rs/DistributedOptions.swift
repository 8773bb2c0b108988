import ArgumentParser
import Distributed

/// Options every distributed subcommand shares.
struct DistributedOptions: ParsableArguments {
    @Option(name: .customLong("launcher"), help: ArgumentHelp("auto: MPI when started by mpirun/srun, else one process; mpi: always MPI; none: never MPI.", valueName: "launcher"))
    var launcherName = LauncherMode.auto.rawValue

    /// `--launcher` (refused in `validate`).
    var launcher: LauncherMode { LauncherMode(rawValue: launcherName) ?? .auto }

    @Option(name: .long, help: ArgumentHelp(
        "Abort the job when one collective takes longer than this many seconds (a stalled or lost rank); 0: never.",
        valueName: "seconds"))
    var collectiveTimeout: Double = 600

    @Option(name: .long, help: ArgumentHelp("Make this rank stop taking part in collectives (tests of --collective-timeout).", visibility: .hidden))
    var debugStallRank: Int?

    @Option(name: .long, help: ArgumentHelp("The phase (\"step 3\") at whose first collective --debug-stall-rank stalls.", visibility: .hidden))
    var debugStallPhase: String = "step 2"

    func validate() throws {
        _ = try flagChoice(LauncherMode.self, launcherName, flag: "--launcher")
        guard collectiveTimeout >= 0, collectiveTimeout.isFinite else {
            throw ValidationError("--collective-timeout must be 0 (off) or a positive number of seconds, got \(collectiveTimeout)")
        }
    }
}
