import ArgumentParser
import Distributed

extension LauncherMode: ExpressibleByArgument {}

/// Options every distributed subcommand shares.
struct DistributedOptions: ParsableArguments {
    @Option(name: .long, help: "auto: MPI when started by mpirun/srun, else one process; mpi: always MPI; none: never MPI.")
    var launcher: LauncherMode = .auto

    @Option(name: .long, help: ArgumentHelp(
        "Abort the job when one collective takes longer than this many seconds (a stalled or lost rank); 0: never.",
        valueName: "seconds"))
    var collectiveTimeout: Double = 600

    @Option(name: .long, help: ArgumentHelp("Make this rank stop taking part in collectives (tests of --collective-timeout).", visibility: .hidden))
    var debugStallRank: Int?

    @Option(name: .long, help: ArgumentHelp("The phase (\"step 3\") at whose first collective --debug-stall-rank stalls.", visibility: .hidden))
    var debugStallPhase: String = "step 2"

    func validate() throws {
        guard collectiveTimeout >= 0, collectiveTimeout.isFinite else {
            throw ValidationError("--collective-timeout must be 0 (off) or a positive number of seconds, got \(collectiveTimeout)")
        }
    }
}
