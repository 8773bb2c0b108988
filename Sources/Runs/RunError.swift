/// Errors of a run folder as a whole: its name, its lock, resuming it, and divergence.
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// Another process holds the run's lock.
    case locked(path: String, owner: String)
    case lockUnavailable(path: String, reason: String)
    /// The folder holds checkpoints and the run was not asked to resume.
    case exists(folder: String)
    /// Resuming with configuration values other than the checkpoint's (each "key: was A, now B").
    case changedConfiguration(folder: String, differences: [String])

    public var description: String {
        switch self {
        case let .locked(path, owner):
            return "\(path): the run is in use by \(owner); wait for that process to end, or choose another --name"
        case let .lockUnavailable(path, reason):
            return "\(path): cannot open the run's lock file: \(reason)"
        case let .exists(folder):
            return "\(folder) already holds checkpoints; pass --resume auto to continue it, or choose another --name"
        case let .changedConfiguration(folder, differences):
            return "\(folder) was checkpointed with another configuration (\(differences.joined(separator: "; "))); "
                + "restore those values, choose another --name, or pass --allow-changed-configuration to continue anyway (recorded in the run)"
        }
    }
}
