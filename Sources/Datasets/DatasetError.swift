/// A dataset file could not be used. The message names the file, where in it the problem is (line, byte
/// offset or field) and what was expected, so that a user can fix the file without reading the code.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let location: String?
    public let problem: String

    public init(file: String, location: String? = nil, _ problem: String) {
        self.file = file
        self.location = location
        self.problem = problem
    }

    public var description: String {
        if let location { return "\(file): \(location): \(problem)" }
        return "\(file): \(problem)"
    }
}
