import Foundation
import XCTest
@testable import Benchmarks

/// The real-batch file that `benchmarks/torch_reference.py` writes and `l3rs bench --measure-step --batches` reads:
/// inputs of every batch, then every label, float32 little-endian.
final class BatchFileTests: XCTestCase {
    private func write(_ floats: [Float]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("batchfile-\(UUID().uuidString).f32").path
        let data = floats.withUnsafeBufferPointer { Data(buffer: $0) }
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testReadsBatchesInOrder() throws {
        // 2 batches of 3 images of shape (1, 2, 2): inputs 0 ..< 24, then labels 0 ..< 6 mod 4.
        let inputs = (0..<24).map(Float.init), labels: [Float] = [0, 1, 2, 3, 0, 1]
        let batches = try BatchFile.read(path: write(inputs + labels), batch: 3, inputShape: [1, 2, 2], classCount: 4)
        XCTAssertEqual(batches.count, 2)
        XCTAssertEqual(batches[0].input.shape, [3, 1, 2, 2])
        XCTAssertEqual(batches[0].input.values, Array(inputs[0..<12]))
        XCTAssertEqual(batches[1].input.values, Array(inputs[12..<24]))
        XCTAssertEqual(batches[0].labels, [0, 1, 2])
        XCTAssertEqual(batches[1].labels, [3, 0, 1])
    }

    func testRejectsPartialBatchesAndBadLabels() throws {
        XCTAssertThrowsError(try BatchFile.read(path: write([Float](repeating: 0, count: 14)), batch: 3, inputShape: [1, 2, 2],
                                                classCount: 4)) { error in
            XCTAssertTrue("\(error)".contains("not a whole number of batches"), "\(error)")
        }
        XCTAssertThrowsError(try BatchFile.read(path: write([Float](repeating: 0, count: 12) + [0, 7, 1]), batch: 3,
                                                inputShape: [1, 2, 2], classCount: 4)) { error in
            XCTAssertTrue("\(error)".contains("label 7.0 of batch 0, image 1"), "\(error)")
        }
    }
}
