/// The learning-rate schedules by the names the command line and YAML files use.
public enum ScheduleKind: String, CaseIterable, Sendable {
    case constant
    case cosine
    case warmupCosine = "warmup-cosine"
    /// Linear decay to the final fraction at the last step (warm-up first when `warmupSteps` > 0).
    case linear

    /// The accepted names, in declaration order, for help texts and error messages.
    public static var validNames: [String] { allCases.map(\.rawValue) }

    /// Parses a name case-insensitively, ignoring surrounding whitespace; unknown names throw an error that
    /// lists the valid ones.
    public init(parsing name: String) throws(OptimizerConfigurationError) {
        guard let kind = ScheduleKind(rawValue: normalisedName(name)) else {
            throw .unknownSchedule(name, validNames: Self.validNames)
        }
        self = kind
    }
}

extension ScheduleKind: Codable {
    /// Decodes through `init(parsing:)` so a YAML typo gets the same message as a command-line typo.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        do {
            self = try ScheduleKind(parsing: name)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
