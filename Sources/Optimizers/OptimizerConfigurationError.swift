/// Why an optimizer configuration cannot be used. The descriptions are meant for the user: they name the
/// offending value and, for unknown names, list the valid ones.
public enum OptimizerConfigurationError: Error, Equatable, CustomStringConvertible {
    case unknownOptimizer(String, validNames: [String])
    case unknownSchedule(String, validNames: [String])
    /// A numeric setting outside its range: the field name, the value as written, and the requirement.
    case invalidValue(field: String, value: String, requirement: String)

    public var description: String {
        switch self {
        case let .unknownOptimizer(name, validNames):
            "unknown optimizer '\(name)'; valid optimizers: \(validNames.joined(separator: ", "))"
        case let .unknownSchedule(name, validNames):
            "unknown learning-rate schedule '\(name)'; valid schedules: \(validNames.joined(separator: ", "))"
        case let .invalidValue(field, value, requirement):
            "invalid \(field) \(value): \(requirement)"
        }
    }
}
