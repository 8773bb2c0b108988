/// Errors of the collectives: each one says which rank saw it and why.
public enum CommunicatorError: Error, CustomStringConvertible, Equatable {
    /// An MPI call returned a code other than MPI_SUCCESS.
    case mpi(function: String, code: Int32, message: String, rank: Int)
    /// A caller passed an argument no rank could accept (a root outside the world, ...).
    case invalidArgument(String)
    /// A launcher was asked for but the process was not started by one.
    case launcherMissing(String)

    public var description: String {
        switch self {
        case let .mpi(function, code, message, rank):
            return "rank \(rank): \(function) failed with MPI error \(code): \(message)"
        case let .invalidArgument(text):
            return "invalid collective argument: \(text)"
        case let .launcherMissing(text):
            return text
        }
    }
}
