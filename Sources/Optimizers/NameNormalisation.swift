/// The canonical form of a user-supplied name (optimizer, schedule): lower-cased, surrounding whitespace
/// removed, so "  AdamW\n" from a YAML file or a shell parses like "adamw".
func normalisedName(_ name: String) -> String {
    let leadingTrimmed = name.drop(while: \.isWhitespace)
    let end = leadingTrimmed.lastIndex(where: { !$0.isWhitespace }).map(leadingTrimmed.index(after:))
        ?? leadingTrimmed.startIndex
    return leadingTrimmed[..<end].lowercased()
}

/// A kind the command line and YAML files name by its raw value (optimizer, schedule), parsed leniently by
/// `init(parsing:)` and decoded through the same parse, so a YAML typo gets the command line's message.
public protocol LenientlyNamed: RawRepresentable, CaseIterable, Codable where RawValue == String {
    /// The error for a name that is none of the kinds.
    static func unknown(_ name: String) -> OptimizerConfigurationError
}

extension LenientlyNamed {
    /// The accepted names, in declaration order, for help texts and error messages.
    public static var validNames: [String] { allCases.map(\.rawValue) }

    /// Parses a name case-insensitively, ignoring surrounding whitespace; unknown names throw an error that
    /// lists the valid ones.
    public init(parsing name: String) throws(OptimizerConfigurationError) {
        guard let kind = Self(rawValue: normalisedName(name)) else { throw Self.unknown(name) }
        self = kind
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        do {
            self = try Self(parsing: name)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }
}
