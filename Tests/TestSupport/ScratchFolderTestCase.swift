import Foundation
import XCTest

/// A test case with a fresh, empty temporary folder for every test, removed afterwards, so tests that write
/// run folders or exports never see each other's files.
open class ScratchFolderTestCase: XCTestCase {
    /// The start of the folder's name, to tell whose leftovers a crashed run left behind.
    open class var scratchPrefix: String { "l3rs-test" }

    /// This test's folder.
    public private(set) var folder: URL!

    open override func setUpWithError() throws {
        try super.setUpWithError()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(Self.scratchPrefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    open override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
        try super.tearDownWithError()
    }
}
