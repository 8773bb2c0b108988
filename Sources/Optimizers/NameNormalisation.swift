import Choices

/// The canonical form of a user-supplied name (optimizer, schedule): lower-cased, surrounding whitespace
/// removed, so "  AdamW\n" from a YAML file or a shell parses like "adamw".
func normalisedName(_ name: String) -> String {
    let leadingTrimmed = name.drop(while: \.isWhitespace)
    let end = leadingTrimmed.lastIndex(where: { !$0.isWhitespace }).map(leadingTrimmed.index(after:))
        ?? leadingTrimmed.startIndex
    return leadingTrimmed[..<end].lowercased()
}

/// A kind the command line and YAML files name by its raw value (optimizer, schedule): a configuration choice
/// (one refusal for YAML and flags) whose names are matched ignoring case and surrounding whitespace.
public protocol LenientlyNamed: ConfigurationChoice {
    /// The error for a name that is none of the kinds.
    static func unknown(_ name: String) -> OptimizerConfigurationError
}

extension LenientlyNamed {
    public static func canonicalSpelling(of text: String) -> String { normalisedName(text) }

    /// Parses a name case-insensitively, ignoring surrounding whitespace; unknown names throw the Optimizers
    /// module's error that lists the valid ones (configurations use `init(parsing:key:)`).
    public init(parsing name: String) throws(OptimizerConfigurationError) {
        guard let kind = Self(rawValue: normalisedName(name)) else { throw Self.unknown(name) }
        self = kind
    }
}
