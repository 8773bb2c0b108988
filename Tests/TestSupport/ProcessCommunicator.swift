import Distributed

/// The one communicator of a test process. MPI may start only once per process, so test classes that run
/// both in-process (one rank) and re-run under `mpirun -np 2` share it; the class that uses it last calls
/// `finish()` from its `class func tearDown()` (MPI_Finalize exactly once).
public enum ProcessCommunicator {
    nonisolated(unsafe) private static var shared: (any Communicator)?

    /// MPI when launched by mpirun, otherwise a single process.
    public static func get() throws -> any Communicator {
        if let existing = shared { return existing }
        let made = try makeCommunicator(.auto)
        shared = made
        return made
    }

    /// Releases the communicator and finalises MPI if it was started.
    public static func finish() {
        shared = nil
        MPIEnvironment.finalize()
    }
}
