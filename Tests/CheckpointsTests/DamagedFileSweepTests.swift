import TestSupport
import XCTest
@testable import Checkpoints

/// Every truncation and every single-byte change of small valid files must end in an error or a valid
/// result, never a crash; truncations must always be errors.
final class DamagedFileSweepTests: XCTestCase {
    func testSafetensorsTruncationsAndFlips() throws {
        let good = try testFiles.readBytes(testFiles.fixture("reference.safetensors"))
        for length in 0..<good.count {
            XCTAssertThrowsError(try Safetensors.decode(Array(good.prefix(length)), file: "cut"), "prefix of \(length) bytes")
        }
        for position in good.indices {
            var damaged = good
            damaged[position] ^= 0xA5
            _ = try? Safetensors.decode(damaged, file: "flipped")
        }
    }

    func testPyTorchTruncationsAndFlips() throws {
        let good = try testFiles.readBytes(testFiles.fixture("tiny-state-dict-deflate.pth"))
        for length in 0..<good.count {
            XCTAssertThrowsError(try PyTorchStateDict.decode(Array(good.prefix(length)), file: "cut"), "prefix of \(length) bytes")
        }
        // Bytes of entry contents are covered by the CRC, so a change there must be an error; zip bookkeeping
        // the importer does not rely on (timestamps, version fields) may change unnoticed, but never crash.
        let archive = try ZipArchive(good, file: "good")
        var checked = Set<Int>()
        for entry in archive.entries where !entry.name.hasSuffix("/version") { // the version record is not read
            let at = entry.localHeaderOffset
            let start = at + 30 + Int(ZipArchive.read16(good, at + 26)) + Int(ZipArchive.read16(good, at + 28))
            checked.formUnion(start..<(start + entry.compressedSize))
        }
        XCTAssertGreaterThan(checked.count, 300)
        for position in good.indices {
            var damaged = good
            damaged[position] ^= 0xA5
            let result = try? PyTorchStateDict.decode(damaged, file: "flipped")
            if checked.contains(position) { XCTAssertNil(result, "a change at byte \(position) inside an entry went unnoticed") }
        }
    }
}
