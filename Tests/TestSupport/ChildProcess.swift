import Foundation

extension Process {
    /// A process, not yet started, that runs `executable` with `arguments`, reads nothing and writes its output
    /// and error to `outputFile` and `errorFile`. Its environment is this process's without any launcher's
    /// variables (a child must not believe it was launched by the parent's launcher), plus `extra`.
    static func child(_ executable: String, _ arguments: [String], environment extra: [String: String],
                      outputFile: URL, errorFile: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("PMI_") {
            environment.removeValue(forKey: key)
        }
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        return process
    }
}

/// A new empty file in the temporary folder for a child's output, named `<prefix>-<UUID>-<tag>.txt`.
func emptyTemporaryFile(prefix: String, tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)-\(tag).txt")
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
    }
    return url
}
