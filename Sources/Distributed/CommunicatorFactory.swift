import Choices
/// How the program decides between MPI and a single process.
public enum LauncherMode: String, ConfigurationChoice {
    /// MPI when a launcher started the process, otherwise a single process.
    case auto
    /// MPI always (a process with no launcher becomes an MPI singleton).
    case mpi
    /// One process, no MPI at all.
    case none
}

/// Creates the communicator for this process.
public func makeCommunicator(_ mode: LauncherMode = .auto) throws -> any Communicator {
    switch mode {
    case .auto:
        return MPIEnvironment.isLaunchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
    case .mpi:
        return try MPICommunicator()
    case .none:
        return SingleProcessCommunicator()
    }
}
