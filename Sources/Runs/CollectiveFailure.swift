/// An error every rank raises at the same point of a run (the facts it depends on are shared or reduced over
/// ranks), so the job can end without MPI_Abort: rank 0 prints it once and every rank exits with `exitStatus`.
public protocol CollectiveFailure: Error, CustomStringConvertible {
    var exitStatus: Int32 { get }
}

extension RunError: CollectiveFailure {
    public var exitStatus: Int32 { 1 }
}

extension DivergenceError: CollectiveFailure {
    public var exitStatus: Int32 { Self.exitStatus }
}
