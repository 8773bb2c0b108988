/// A closed set of configuration values (a YAML key's or a command-line flag's), spelt exactly as the files
/// and flags write them (the raw values). Conforming is all an enum needs: a value outside the set is refused
/// where it enters (YAML decoding, `init(parsing:key:)` for flags) with one message that names the key, the
/// bad value, every allowed value and the nearest one, instead of a default silently kept or a late failure.
public protocol ConfigurationChoice: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {
    /// The spelling `text` is looked up as: `text` itself, unless a set accepts variants (the optimizer and
    /// schedule names ignore case and surrounding whitespace).
    static func canonicalSpelling(of text: String) -> String
}

extension ConfigurationChoice {
    public static func canonicalSpelling(of text: String) -> String { text }

    /// The allowed spellings, in declaration order.
    public static var validNames: [String] { allCases.map(\.rawValue) }

    /// "KEY must be one of A, B, got 'TEXT'" and the nearest allowed value when it looks misspelt.
    public static func refusal(of text: String, key: String) -> String {
        "\(key) must be one of \(validNames.joined(separator: ", ")), got '\(text)'" + Suggestion.hint(for: text, among: validNames)
    }

    /// The value spelt `text`, given for `key` (a YAML key or a flag such as `--order`).
    public init(parsing text: String, key: String) throws(ChoiceError) {
        guard let value = Self(rawValue: Self.canonicalSpelling(of: text)) else { throw ChoiceError(message: Self.refusal(of: text, key: key)) }
        self = value
    }

    /// Decodes the raw value; an unknown one is a `DecodingError.dataCorrupted` whose description is the
    /// refusal, naming the key path it was found at (`ablations[1]`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: Self.canonicalSpelling(of: text)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.refusal(of: text, key: keyPath(decoder.codingPath)))
        }
        self = value
    }
}

/// A coding path as configuration files write it: `ablations[1]`, `a.b`.
func keyPath(_ codingPath: [any CodingKey]) -> String {
    codingPath.reduce("") { path, key in
        if let index = key.intValue { return path + "[\(index)]" }
        return path.isEmpty ? key.stringValue : path + "." + key.stringValue
    }
}

/// A mapping whose keys are a closed set (`learningRateGrids: {adam: [...]}`): decoded from a mapping of the
/// set's spellings, an unknown key refused like an unknown value ("learningRateGrids key must be one of …"),
/// and encoded with the same spellings.
public struct ChoiceKeyed<Key: ConfigurationChoice & Hashable, Value: Codable & Sendable>: Codable, Sendable,
    ExpressibleByDictionaryLiteral {
    public var entries: [Key: Value]

    public init(_ entries: [Key: Value]) { self.entries = entries }
    public init(dictionaryLiteral elements: (Key, Value)...) { entries = Dictionary(uniqueKeysWithValues: elements) }

    public subscript(key: Key) -> Value? {
        get { entries[key] }
        set { entries[key] = newValue }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        var entries: [Key: Value] = [:]
        for (text, value) in try container.decode([String: Value].self) {
            guard let key = Key(rawValue: Key.canonicalSpelling(of: text)) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: Key.refusal(of: text, key: keyPath(decoder.codingPath) + " key"))
            }
            entries[key] = value
        }
        self.entries = entries
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: entries.map { ($0.key.rawValue, $0.value) }))
    }
}

extension ChoiceKeyed: Equatable where Value: Equatable {}

/// A value outside a `ConfigurationChoice`'s set; `description` is the whole one-line message.
public struct ChoiceError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}
