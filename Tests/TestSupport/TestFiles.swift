import Foundation
import XCTest

/// Paths a test target needs: its committed fixtures, the repository's data/ folder (filled by `make data`),
/// and scratch folders. Made from the test file's own path, so tests find them from any working directory.
public struct TestFiles: Sendable {
    public let fixtures: String
    public let repositoryRoot: String
    private let scratchPrefix: String

    /// - Parameters:
    ///   - testFile: `#filePath` of a file directly inside the test target's folder.
    ///   - scratchPrefix: a name for the target's scratch folders.
    public init(testFile: String, scratchPrefix: String) {
        let folder = URL(fileURLWithPath: testFile).deletingLastPathComponent()
        fixtures = folder.appendingPathComponent("Fixtures").path
        repositoryRoot = folder.deletingLastPathComponent().deletingLastPathComponent().path
        self.scratchPrefix = scratchPrefix
    }

    /// data/ of the repository, or L3RS_DATA_DIR.
    public var data: String { ProcessInfo.processInfo.environment["L3RS_DATA_DIR"] ?? repositoryRoot + "/data" }

    public func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// A real data file; fails the test (never skips) with what to run when it is missing.
    public func requireData(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = data + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: run `make data` (tools/fetch-data.sh) before the tests", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    /// A fresh scratch folder for one test.
    public func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "\(scratchPrefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    public func readBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// Asserts that `body` throws an error whose message contains every fragment (file, field, rule).
public func assertError<T>(_ body: @autoclosure () throws -> T, mentions fragments: [String],
                           file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
    } catch {
        let message = "\(error)"
        for fragment in fragments where !message.contains(fragment) {
            XCTFail("error \"\(message)\" does not mention \"\(fragment)\"", file: file, line: line)
        }
    }
}

/// Runs `python3 -c code`: its status, trimmed standard output, and standard error.
public func runPython(_ code: String) throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", code]
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text.trimmingCharacters(in: .whitespacesAndNewlines), errorText)
}

/// A misspelt value of a closed-set configuration key, the key's allowed values as the message lists them, and
/// the one the message should suggest.
public typealias MisspeltChoice = (key: String, value: String, allowed: String, nearest: String)

/// Asserts that `load` refuses a YAML text `KEY: VALUE` (after `preamble`) with exactly the message of a
/// `ConfigurationChoice`: "SOURCE: KEY must be one of ALLOWED, got 'VALUE' (did you mean 'NEAREST'?)".
public func assertMisspeltChoicesRefused(_ cases: [MisspeltChoice], preamble: String, source: String,
                                         file: StaticString = #filePath, line: UInt = #line,
                                         load: (_ yaml: String, _ source: String) throws -> Void) {
    for (key, value, allowed, nearest) in cases {
        XCTAssertThrowsError(try load(preamble + "\(key): \(value)\n", source), key, file: file, line: line) { error in
            XCTAssertEqual(String(describing: error),
                           "\(source): \(key) must be one of \(allowed), got '\(value)' (did you mean '\(nearest)'?)",
                           file: file, line: line)
        }
    }
}
