/// Why a compressed stream could not be decoded. The caller adds the file name; this says what broke.
public struct InflateError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
