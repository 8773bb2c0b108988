import Checkpoints
import Distributed
import Foundation
import TrainingFixtures
import XCTest
@testable import Training

/// The hand-designed path through the `UpdateRule` abstraction: its checkpoint keeps the trainer-state
/// layout it always had, and a run resumed from it ends bit-identically to an uninterrupted one.
final class HandDesignedResumeTests: XCTestCase {
    private var dataDirectory: String {
        ProcessInfo.processInfo.environment["L3RS_DATA_DIR"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path + "/data"
    }

    private func configuration(_ folder: URL, name: String, steps: Int) -> TrainingConfiguration {
        .mlpOnDigits(in: folder, name: name, optimizer: .adam, steps: steps, dataDirectory: dataDirectory)
    }

    func testAdamCheckpointLayoutAndExactResume() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-hd-\(UUID().uuidString)")
        let whole = try TrainingRun(configuration: configuration(folder, name: "whole", steps: 4),
                                    communicator: SingleProcessCommunicator(), resume: false, log: { _ in }).execute()
        _ = try TrainingRun(configuration: configuration(folder, name: "split", steps: 2),
                            communicator: SingleProcessCommunicator(), resume: false, log: { _ in }).execute()
        let state = try Safetensors.read(folder.appendingPathComponent("split/checkpoints/step-00000002/trainer-state.safetensors").path)
        XCTAssertEqual(state.names.sorted(), ["optimizer.first_moment", "optimizer.second_moment"])
        XCTAssertEqual(state.metadata["optimizer_step"], "2")
        XCTAssertEqual(state.metadata["optimizer"], "adam")
        let resumed = try TrainingRun(configuration: configuration(folder, name: "split", steps: 4),
                                      communicator: SingleProcessCommunicator(), resume: true, log: { _ in }).execute()
        guard case let .finished(a) = whole, case let .finished(b) = resumed else { return XCTFail("\(whole) \(resumed)") }
        XCTAssertEqual(a.parameterHash, b.parameterHash)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("whole/l3rs.jsonl").path))
    }
}
