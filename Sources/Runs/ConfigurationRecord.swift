import Foundation

/// The values of a run's configuration that decide what it computes, written into every checkpoint so that a
/// resume with other values is refused with the differences listed. Keys that only say how far to go, how often
/// to checkpoint, where files are, or how much to log are left out (`RunConfiguration.keysFreeOnResume`).
/// Stored in the checkpoint's metadata as canonical JSON (sorted keys) and its FNV-1a hash.
public struct ConfigurationRecord: Equatable, Sendable {
    /// The metadata keys of the JSON and its hash.
    public static let metadataKey = "run.configuration"
    public static let hashMetadataKey = "run.configuration_hash"

    /// Key to its value as canonical JSON text.
    public let values: [String: String]

    public init(values: [String: String]) { self.values = values }

    /// The record of `configuration`: every encoded key except `ignoring`.
    public init<Configuration: Encodable>(_ configuration: Configuration, ignoring: Set<String>) throws {
        let data = try JSONEncoder().encode(configuration)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EncodingError.invalidValue(configuration, .init(codingPath: [], debugDescription: "a run configuration must encode as a JSON object"))
        }
        var values: [String: String] = [:]
        for (key, value) in object where !ignoring.contains(key) {
            values[key] = Self.canonical(value)
        }
        self.values = values
    }

    /// The record read back from checkpoint metadata; nil when the checkpoint predates records.
    public init?(metadata: [String: String]) {
        guard let text = metadata[Self.metadataKey],
              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else { return nil }
        values = object
    }

    /// The metadata entries that store this record.
    public var metadata: [String: String] {
        [Self.metadataKey: json, Self.hashMetadataKey: String(format: "%016llx", hash)]
    }

    /// The record as one JSON object of strings, keys sorted.
    public var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// FNV-1a of `json`.
    public var hash: UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in json.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return value
    }

    /// "key: was A, now B" for each key whose value differs from `stored` (keys either side lacks included).
    public func differences(from stored: ConfigurationRecord) -> [String] {
        Set(values.keys).union(stored.values.keys).sorted().compactMap { key in
            let old = stored.values[key], new = values[key]
            guard old != new else { return nil }
            return "\(key): was \(old ?? "unset"), now \(new ?? "unset")"
        }
    }

    private static func canonical(_ value: Any) -> String {
        if let text = value as? String { return text }
        guard JSONSerialization.isValidJSONObject([value]),
              let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "\(value)" }
        // Strip the wrapping array.
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}

/// A run configuration that Runs can record: what may change on resume without being a different run.
public protocol RunConfiguration: Encodable {
    /// Keys that may differ on resume: the stopping point, checkpoint cadence, logging, folders, and resource
    /// settings that do not change the numbers.
    static var keysFreeOnResume: Set<String> { get }
}

extension RunConfiguration {
    /// This configuration's record.
    public func record() throws -> ConfigurationRecord { try ConfigurationRecord(self, ignoring: Self.keysFreeOnResume) }
}
