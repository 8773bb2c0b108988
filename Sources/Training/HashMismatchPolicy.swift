import Choices

/// What a run does when the periodic parameter-hash check finds ranks that disagree (`onHashMismatch`).
public enum HashMismatchPolicy: String, ConfigurationChoice {
    /// Stop with a message naming the step and the ranks.
    case error
    /// Copy rank 0's parameters to every rank and go on.
    case rebroadcast
}
