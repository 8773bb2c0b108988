/// A closed set of configuration values (a YAML key's or a command-line flag's), spelt exactly as the files
/// and flags write them (the raw values). Conforming is all an enum needs: a value outside the set is refused
/// where it enters (YAML decoding, `init(parsing:key:)` for flags) with one message that names the key, the
/// bad value, every allowed value and the nearest one, instead of a default silently kept or a late failure.
public protocol ConfigurationChoice: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {}

extension ConfigurationChoice {
    /// The allowed spellings, in declaration order.
    public static var validNames: [String] { allCases.map(\.rawValue) }

    /// "KEY must be one of A, B, got 'TEXT'" and the nearest allowed value when it looks misspelt.
    public static func refusal(of text: String, key: String) -> String {
        "\(key) must be one of \(validNames.joined(separator: ", ")), got '\(text)'" + Suggestion.hint(for: text, among: validNames)
    }

    /// The value spelt `text`, given for `key` (a YAML key or a flag such as `--order`).
    public init(parsing text: String, key: String) throws(ChoiceError) {
        guard let value = Self(rawValue: text) else { throw ChoiceError(message: Self.refusal(of: text, key: key)) }
        self = value
    }

    /// Decodes the raw value; an unknown one is a `DecodingError.dataCorrupted` whose description is the
    /// refusal, naming the key path it was found at (`ablations[1]`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            let key = decoder.codingPath.reduce("") { path, key in
                if let index = key.intValue { return path + "[\(index)]" }
                return path.isEmpty ? key.stringValue : path + "." + key.stringValue
            }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.refusal(of: text, key: key))
        }
        self = value
    }
}

/// A value outside a `ConfigurationChoice`'s set; `description` is the whole one-line message.
public struct ChoiceError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}
