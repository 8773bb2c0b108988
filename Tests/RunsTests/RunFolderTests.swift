import Checkpoints
import Distributed
import Foundation
@testable import Runs
import XCTest

/// The run folder's pieces on one rank: the lock, names, the configuration record, checkpoints that skip a
/// damaged one and prune unfinished ones, and the divergence guard.
final class RunFolderTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("runs-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private struct Settings: RunConfiguration {
        var learningRate = 0.001
        var steps = 10
        var optimizer = "adam"
        static let keysFreeOnResume: Set<String> = ["steps"]
    }

    private func folder(_ settings: Settings = Settings(), name: String = "run") throws -> RunFolder {
        RunFolder(runsDirectory: scratch.path, name: name, keepCheckpoints: 2, record: try settings.record(),
                  communicator: SingleProcessCommunicator(), log: { _ in })
    }

    private func file(_ value: Float) -> TensorFile {
        TensorFile(tensors: [NamedTensor(name: "w", shape: [2], floats: [value, value + 1])], metadata: ["step": "\(value)"])
    }

    func testSecondHolderOfTheLockIsRefusedNamingTheFirst() throws {
        let first = try RunLock(folder: scratch)
        XCTAssertNil(first.staleOwner)
        XCTAssertThrowsError(try RunLock(folder: scratch)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("run.lock: the run is in use by") && text.contains("\(getpid())"), text)
        }
        withExtendedLifetime(first) {}
    }

    func testReleasedLockIsFreeAndAStaleOneIsTakenOver() throws {
        do { _ = try RunLock(folder: scratch) }
        XCTAssertNil(try RunLock(folder: scratch).staleOwner, "a cleanly released lock is not stale")
        // A holder that died leaves its name in the file but no flock.
        try Data("otherhost 12345\n".utf8).write(to: scratch.appendingPathComponent(RunLock.fileName))
        XCTAssertEqual(try RunLock(folder: scratch).staleOwner, "otherhost 12345")
    }

    func testRunNamesThatLeaveTheRunsFolderAreRejected() {
        for bad in ["", ".", "..", ".hidden", "a/b", "../x"] { XCTAssertNotNil(RunName.problem(bad), bad) }
        for good in ["run", "adam-1e-3", "a.b", "x.."] { XCTAssertNil(RunName.problem(good), good) }
    }

    func testRecordIgnoresFreeKeysAndListsChangedOnes() throws {
        var changed = Settings()
        changed.steps = 99
        XCTAssertEqual(try changed.record(), try Settings().record(), "steps may change on resume")
        changed.learningRate = 0.01
        changed.optimizer = "sgd"
        let differences = try changed.record().differences(from: try Settings().record())
        XCTAssertEqual(differences, ["learningRate: was 0.001, now 0.01", "optimizer: was adam, now sgd"])
        let stored = try Settings().record()
        XCTAssertEqual(ConfigurationRecord(metadata: stored.metadata), stored)
        XCTAssertNotEqual(try changed.record().hash, stored.hash)
    }

    func testFolderWithCheckpointsIsNotOverwrittenWithoutResume() throws {
        do {
            let original = try folder()
            XCTAssertNil(try original.open(resume: true, files: ["state.safetensors"]))
            try original.saveCheckpoint(step: 5) { [("state.safetensors", file(1))] }
        }
        XCTAssertThrowsError(try folder().open(resume: false, files: ["state.safetensors"])) { error in
            XCTAssertTrue(String(describing: error).contains("already holds checkpoints"), "\(error)")
        }
    }

    func testChangedConfigurationIsRefusedThenRecordedWhenAllowed() throws {
        do {
            let original = try folder()
            _ = try original.open(resume: true, files: ["state.safetensors"])
            try original.saveCheckpoint(step: 5) { [("state.safetensors", file(1))] }
        }
        var changed = Settings()
        changed.learningRate = 0.5
        changed.steps = 20
        XCTAssertThrowsError(try folder(changed).open(resume: true, files: ["state.safetensors"])) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("learningRate: was 0.001, now 0.5") && !text.contains("steps")
                          && text.contains("--allow-changed-configuration"), text)
        }
        var longer = Settings()
        longer.steps = 20
        XCTAssertEqual(try folder(longer).open(resume: true, files: ["state.safetensors"])?.step, 5, "steps is free")
        let allowed = try folder(changed)
        allowed.allowChangedConfiguration = true
        XCTAssertEqual(try allowed.open(resume: true, files: ["state.safetensors"])?.step, 5)
        let log = try String(contentsOf: allowed.file(RunFolder.configurationChangesFileName), encoding: .utf8)
        XCTAssertTrue(log.contains("resumed at step 5") && log.contains("learningRate: was 0.001, now 0.5"), log)
    }

    func testOpenRefusesARunFolderLockedByAnotherHolder() throws {
        let first = try folder()
        _ = try first.open(resume: true, files: ["x"])
        XCTAssertThrowsError(try folder().open(resume: true, files: ["x"])) { error in
            XCTAssertTrue(String(describing: error).contains("the run is in use by"), "\(error)")
        }
        withExtendedLifetime(first) {}
    }

    func testDamagedCheckpointIsSkippedForThePreviousAndUnfinishedOnesArePruned() throws {
        let store = CheckpointStore(folder: scratch.appendingPathComponent("checkpoints"), keep: 3)
        for step in [10, 20] { try store.save(step: step, files: [("state.safetensors", file(Float(step)))]) }
        // Flip one byte of the newest checkpoint's tensor data (the last bytes of the file).
        let path = store.path(step: 20, file: "state.safetensors")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var warnings: [String] = []
        let loaded = try XCTUnwrap(try store.loadNewestIntact(files: ["state.safetensors"]) { warnings.append($0) })
        XCTAssertEqual(loaded.step, 10)
        XCTAssertEqual(loaded.files["state.safetensors"]?["w"]?.floats(), [10, 11])
        XCTAssertTrue(warnings.first?.contains("step-00000020 is damaged") == true
                      && warnings.first?.contains("tensor \"w\"") == true, "\(warnings)")
        // A folder without COMPLETE (a write that never finished) goes at the next save.
        try FileManager.default.createDirectory(at: store.folder.appendingPathComponent("step-00000025"), withIntermediateDirectories: true)
        XCTAssertEqual(store.incompleteSteps(), [25])
        try store.save(step: 30, files: [("state.safetensors", file(30))])
        XCTAssertEqual(store.incompleteSteps(), [])
        XCTAssertEqual(store.completeSteps(), [30, 20, 10])
    }

    /// What a rank joining a resume uses: exactly the step rank 0 chose, never an earlier one in its place.
    func testLoadOfOneStepReadsThatStepOrThrowsWithoutFallingBack() throws {
        let store = CheckpointStore(folder: scratch.appendingPathComponent("checkpoints"), keep: 3)
        for step in [10, 20] { try store.save(step: step, files: [("state.safetensors", file(Float(step)))]) }
        XCTAssertEqual(try store.load(step: 10, files: ["state.safetensors"]).files["state.safetensors"]?["w"]?.floats(), [10, 11])
        XCTAssertThrowsError(try store.load(step: 15, files: ["state.safetensors"])) { error in
            XCTAssertEqual("\(error)", "\(store.folder.path)/step-00000015: no complete checkpoint here (no COMPLETE marker)")
        }
        let path = store.path(step: 20, file: "state.safetensors")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try store.load(step: 20, files: ["state.safetensors"])) { error in
            XCTAssertTrue("\(error)".contains("step-00000020/state.safetensors") && "\(error)".contains("CRC-32 mismatch"), "\(error)")
        }
    }

    /// Every damaged checkpoint is a run-folder error raised by every rank (no abort), naming each one.
    func testResumeWithEveryCheckpointDamagedIsARunError() throws {
        do {
            let original = try folder()
            _ = try original.open(resume: true, files: ["state.safetensors"])
            try original.saveCheckpoint(step: 5) { [("state.safetensors", file(1))] }
        }
        let path = scratch.appendingPathComponent("run/checkpoints/step-00000005/state.safetensors")
        var bytes = [UInt8](try Data(contentsOf: path))
        bytes[bytes.count - 2] ^= 0x40
        try Data(bytes).write(to: path)
        XCTAssertThrowsError(try folder().open(resume: true, files: ["state.safetensors"])) { error in
            guard case RunError.noIntactCheckpoint = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("every complete checkpoint is damaged") && "\(error)".contains("step-00000005"), "\(error)")
        }
    }

    /// The hash ranks compare after a resume changes with any one bit of a tensor or any metadata value, and
    /// is the same for the same contents read twice.
    func testContentHashSeesEveryBitOfTheTensorsAndTheMetadata() throws {
        let store = CheckpointStore(folder: scratch.appendingPathComponent("checkpoints"))
        try store.save(step: 1, files: [("state.safetensors", file(1))])
        let loaded = try store.load(step: 1, files: ["state.safetensors"])
        let hash = loaded.contentHash(["state.safetensors"])
        XCTAssertEqual(try store.load(step: 1, files: ["state.safetensors"]).contentHash(["state.safetensors"]), hash)
        var flipped = loaded.files["state.safetensors"]!
        flipped.tensors[0].bytes[0] ^= 1
        XCTAssertNotEqual(CheckpointStore.Loaded(step: 1, files: ["state.safetensors": flipped], paths: [:]).contentHash(["state.safetensors"]), hash)
        var relabelled = loaded.files["state.safetensors"]!
        relabelled.metadata["step"] = "2"
        XCTAssertNotEqual(CheckpointStore.Loaded(step: 1, files: ["state.safetensors": relabelled], paths: [:]).contentHash(["state.safetensors"]), hash)
        // Lengths that are not whole Floats (an 8-bit tensor) count every byte.
        let odd = { (bytes: [UInt8]) in
            CheckpointStore.Loaded(step: 1, files: ["f": TensorFile(tensors: [try! NamedTensor(name: "b", dtype: .u8, shape: [bytes.count], bytes: bytes)])],
                                   paths: [:]).contentHash(["f"])
        }
        XCTAssertNotEqual(odd([1, 2, 3]), odd([1, 2, 3, 0]))
        XCTAssertNotEqual(odd([1, 2, 3]), odd([1, 2, 4]))
    }

    func testDivergenceGuardStopsAfterTheLimitOfConsecutiveBadSteps() {
        var guardian = DivergenceGuard(limit: 3)
        XCTAssertEqual([true, true, false, true, true].map { guardian.record(bad: $0) }, [false, false, false, false, false])
        XCTAssertTrue(guardian.record(bad: true))
        XCTAssertEqual(guardian.total, 5)
        var never = DivergenceGuard(limit: 0)
        XCTAssertFalse((0..<100).contains { _ in never.record(bad: true) })
    }
}
