import Choices
import Foundation
import Yams

/// A run configuration read from strict YAML (fine-tuning, meta-training, the pipeline): a key the type does
/// not know is an error naming the file, the key and every valid key, so a typo never silently keeps a default.
/// A key the file leaves out (or leaves empty) keeps the value of `init()`: the file is laid over the encoded
/// defaults, so conformers need no decoding code of their own, only stored properties with defaults.
public protocol YAMLConfiguration: Codable {
    /// The defaults every missing key keeps.
    init()
}

extension YAMLConfiguration {
    /// Every key the YAML may contain: the keys the defaults encode, in declaration order.
    public static var yamlKeys: [String] { (try? defaultsMapping().keys.compactMap(\.string)) ?? [] }

    /// Reads YAML text; `source` names it in errors.
    public static func load(yaml text: String, source: String) throws -> Self {
        try loadYAML(Self.self, yaml: text, source: source)
    }

    /// Reads a YAML file.
    public static func load(file path: String) throws -> Self {
        try load(yaml: try readConfigurationText(path), source: path)
    }

    /// The configuration as YAML, as printed at start and written to the run folder.
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    /// `init()` encoded as a YAML mapping.
    static func defaultsMapping() throws -> Node.Mapping {
        guard let mapping = try Yams.compose(yaml: try Self().yaml())?.mapping else {
            preconditionFailure("\(Self.self) must encode as a mapping")
        }
        return mapping
    }
}

/// Errors of configuration files and options, each naming the file, key or option.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notAMapping(source: String)
    case unknownKeys(source: String, keys: [String], valid: [String])
    case badValue(source: String, detail: String)
    case invalid([String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read configuration \(path): \(reason)"
        case let .notAMapping(source): return "\(source): a configuration must be a YAML mapping of keys to values"
        case let .unknownKeys(source, keys, valid):
            let named = keys.map { $0 + Suggestion.hint(for: $0, among: valid) }
            return "\(source): unknown key(s) \(named.joined(separator: ", ")); valid keys: \(valid.joined(separator: ", "))"
        case let .badValue(source, detail): return "\(source): \(detail)"
        case let .invalid(problems):
            // One problem stays on one line, so a log's error line says it all.
            if problems.count == 1 { return "invalid configuration: " + problems[0] }
            return "invalid configuration:\n  - " + problems.joined(separator: "\n  - ")
        }
    }
}

/// A configuration file's text; an unreadable file is a `ConfigurationError` naming the path and the reason.
func readConfigurationText(_ path: String) throws -> String {
    do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw ConfigurationError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
}

/// Lays the YAML mapping `text` over `T`'s defaults and decodes the result, rejecting keys `T` does not know.
func loadYAML<T: YAMLConfiguration>(_ type: T.Type, yaml text: String, source: String) throws -> T {
    let node: Node?
    do { node = try Yams.compose(yaml: text) } catch {
        throw ConfigurationError.badValue(source: source, detail: "not valid YAML: \(error)")
    }
    var merged = try T.defaultsMapping()
    if let node {
        guard let mapping = node.mapping else { throw ConfigurationError.notAMapping(source: source) }
        let keys = T.yamlKeys
        let unknown = mapping.keys.map { $0.string ?? "\($0)" }.filter { !keys.contains($0) }.sorted()
        guard unknown.isEmpty else { throw ConfigurationError.unknownKeys(source: source, keys: unknown, valid: keys) }
        for (key, value) in mapping where value.null == nil { merged[key] = value }
    }
    do { return try YAMLDecoder().decode(T.self, from: .mapping(merged)) } catch let DecodingError.typeMismatch(expected, context) {
        let key = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw ConfigurationError.badValue(source: source, detail: "key '\(key)': expected \(expected)")
    } catch let DecodingError.dataCorrupted(context) {
        // A value of the right type that the key does not accept (an enum's unknown case): its own message.
        throw ConfigurationError.badValue(source: source, detail: context.debugDescription)
    } catch {
        throw ConfigurationError.badValue(source: source, detail: "\(error)")
    }
}
