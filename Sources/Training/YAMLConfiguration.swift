import Foundation
import Yams

/// A run configuration read from strict YAML (fine-tuning, meta-training, the pipeline): a key the type does
/// not know is an error naming the file, the key and every valid key, so a typo never silently keeps a default.
/// Conformers list their keys and decode missing keys as their defaults (`KeyedDecodingContainer.read`).
public protocol YAMLConfiguration: Codable {
    /// Every key the YAML may contain.
    static var yamlKeys: [String] { get }
}

extension YAMLConfiguration {
    /// Reads YAML text; `source` names it in errors.
    public static func load(yaml text: String, source: String) throws -> Self {
        try loadYAML(Self.self, keys: yamlKeys, yaml: text, source: source)
    }

    /// Reads a YAML file.
    public static func load(file path: String) throws -> Self {
        try load(yaml: try readConfigurationText(path), source: path)
    }

    /// The configuration as YAML, as printed at start and written to the run folder.
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }
}

extension KeyedDecodingContainer {
    /// Overwrites `value` with the key's value when the key is present; a missing key keeps the default.
    public func read<T: Decodable>(_ key: Key, _ value: inout T) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
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

/// Decodes a YAML mapping into `T`, rejecting keys `T` does not know.
func loadYAML<T: Decodable>(_ type: T.Type, keys: [String], yaml text: String, source: String) throws -> T {
    let node: Any?
    do { node = try Yams.load(yaml: text) } catch {
        throw ConfigurationError.badValue(source: source, detail: "not valid YAML: \(error)")
    }
    if node == nil { return try YAMLDecoder().decode(T.self, from: "{}") }
    guard let mapping = node as? [String: Any] else { throw ConfigurationError.notAMapping(source: source) }
    let unknown = mapping.keys.filter { !keys.contains($0) }.sorted()
    guard unknown.isEmpty else { throw ConfigurationError.unknownKeys(source: source, keys: unknown, valid: keys) }
    do { return try YAMLDecoder().decode(T.self, from: text) } catch let DecodingError.typeMismatch(expected, context) {
        let key = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw ConfigurationError.badValue(source: source, detail: "key '\(key)': expected \(expected)")
    } catch let DecodingError.dataCorrupted(context) {
        // A value of the right type that the key does not accept (an enum's unknown case): its own message.
        throw ConfigurationError.badValue(source: source, detail: context.debugDescription)
    } catch {
        throw ConfigurationError.badValue(source: source, detail: "\(error)")
    }
}
