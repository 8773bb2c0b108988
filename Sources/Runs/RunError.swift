/// Errors of a run folder as a whole: its name, its lock, and resuming it (every rank the same checkpoint).
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// Another process holds the run's lock.
    case locked(path: String, owner: String)
    case lockUnavailable(path: String, reason: String)
    /// The folder holds checkpoints and the run was not asked to resume.
    case exists(folder: String)
    /// Resuming with configuration values other than the checkpoint's (each "key: was A, now B").
    case changedConfiguration(folder: String, differences: [String])
    /// On a resume, rank `rank` (on `host`) does not see the checkpoint rank 0 resumes from as rank 0 does:
    /// `path` is that checkpoint in its view, `problem` what it found there instead. `others`: further ranks that
    /// failed too.
    case checkpointNotOnEveryRank(rank: Int, host: String, path: String, problem: String, others: Int)
    /// On a resume, every complete checkpoint rank 0 sees is damaged.
    case noIntactCheckpoint(problem: String)

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
        case let .checkpointNotOnEveryRank(rank, host, path, problem, others):
            return "cannot resume: rank \(rank) on host \(host) cannot read \(path): \(problem)"
                + (others > 0 ? " (and \(others) more rank(s) cannot either)" : "")
                + "; every rank reads the checkpoint rank 0 resumes from, so every node must see rank 0's run folder: "
                + "put runs/ on a file system all nodes share, or copy the run folder to every node before the job (docs/clusters.md)"
        case let .noIntactCheckpoint(problem):
            return "cannot resume: \(problem); start again under another --name, or remove the damaged checkpoint folders"
        }
    }
}
