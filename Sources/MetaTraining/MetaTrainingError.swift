/// Errors of a meta-training run that are not configuration errors.
public enum MetaTrainingError: Error, CustomStringConvertible, Equatable {
    case checkpoint(String)

    public var description: String {
        switch self {
        case let .checkpoint(text): text
        }
    }
}
