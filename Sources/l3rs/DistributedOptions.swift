import ArgumentParser
import Distributed

extension LauncherMode: ExpressibleByArgument {}

/// Options every distributed subcommand shares.
struct DistributedOptions: ParsableArguments {
    @Option(name: .long, help: "auto: MPI when started by mpirun/srun, else one process; mpi: always MPI; none: never MPI.")
    var launcher: LauncherMode = .auto
}
