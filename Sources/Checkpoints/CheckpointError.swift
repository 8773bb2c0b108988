/// A checkpoint file could not be read or written. The message names the file, the part of it (a tensor,
/// a zip entry, a pickle offset, the header) and the rule that was broken.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let problem: String

    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
