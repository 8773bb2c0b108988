import Foundation
import XCTest

/// Paths shared by the dataset tests: committed fixtures, the fetched data/ folder, and scratch files.
enum TestPaths {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var data: String { ProcessInfo.processInfo.environment["L3RS_DATA_DIR"] ?? repositoryRoot + "/data" }

    static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// A real data file; fails the test (never skips) with what to run when it is missing.
    static func requireData(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = data + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: run `make data` (tools/fetch-data.sh) before the tests", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    /// A fresh scratch folder for one test.
    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "l3rs-datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// Asserts that `body` throws a DatasetError whose message contains every fragment (file name, rule).
func assertDatasetError<T>(_ body: @autoclosure () throws -> T, mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
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
