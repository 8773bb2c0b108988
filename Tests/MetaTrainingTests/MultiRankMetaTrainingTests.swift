import Checkpoints
import Distributed
import Foundation
import TestSupport
import XCTest

/// Real two-rank runs under mpirun, each with a time limit so that a hang fails instead of stalling CI.
final class MultiRankMetaTrainingTests: XCTestCase {
    override func setUp() {
        super.setUp()
        XCTAssertFalse(MPIEnvironment.isLaunchedByMPI, "MultiRankMetaTrainingTests must run outside mpirun")
    }

    /// 1 rank and 2 ranks give the same meta-gradient, first and second order and by evolution strategies,
    /// antithetic and persistent (see MetaGradientRankChecks).
    func testMetaGradientIsRankInvariantOnTwoRanks() throws {
        try assertPassesOnTwoRanks("MetaTrainingTests.MetaGradientRankChecks", tests: 6)
    }

    /// The inner problem's training gradient is bitwise the trainer's on two ranks, with and without
    /// SyncBatchNorm, and rank shares sum to the global mean (see GradientPathRankChecks).
    func testGradientPathIsSharedOnTwoRanks() throws {
        try assertPassesOnTwoRanks("MetaTrainingTests.GradientPathRankChecks", tests: 3)
    }

    /// Runs the test class `suite` of this bundle under `mpirun -np 2` (2 minutes at most): it exits cleanly
    /// and both ranks report all `tests` of its tests passed.
    private func assertPassesOnTwoRanks(_ suite: String, tests: Int) throws {
        let result = try MPIRun.launch(ranks: 2, [MPIRun.testBundleExecutable, suite], timeout: 120)
        XCTAssertFalse(result.timedOut, "mpirun timed out after \(result.seconds) s\n\(result.transcript)")
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let executed = result.standardOutput.components(separatedBy: "Executed \(tests) tests, with 0 failures").count - 1
        XCTAssertGreaterThanOrEqual(executed, 2, result.transcript)
    }

    /// `l3rs meta-train` with jobs/configs/meta-train-tiny.yaml and `extra` flags on two ranks, in a fresh runs
    /// folder that `check` inspects and that is removed afterwards.
    private func metaTrainTiny(_ extra: [String] = [], timeout: Double,
                               check: (LaunchResult, String) throws -> Void) throws {
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-meta-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: runs) }
        let config = TestPaths.repositoryRoot + "/jobs/configs/meta-train-tiny.yaml"
        let result = try MPIRun.launch(ranks: 2, [
            MPIRun.l3rsExecutable, "meta-train", "--config", config, "--runs-directory", runs,
            "--data-directory", TestPaths.data, "--weights", TestPaths.data + "/ccexam/mnist.pth",
        ] + extra, timeout: timeout)
        XCTAssertFalse(result.timedOut, "mpirun timed out after \(result.seconds) s\n\(result.transcript)")
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        try check(result, runs + "/meta-train-tiny")
    }

    /// The tiny job configuration meta-trains on two ranks and writes the learned optimizer.
    func testMetaTrainCommandOnTwoRanks() throws {
        try metaTrainTiny(timeout: 180) { result, run in
            XCTAssertTrue(result.standardOutput.contains("2 rank(s)"), result.transcript)
            XCTAssertTrue(result.standardOutput.contains("finished 3 meta-steps"), result.transcript)
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/l3rs.safetensors"))
        }
    }

    /// Evolution strategies with a meta-batch of two tasks and held-out validation on two ranks: the run
    /// validates, keeps the best φ as l3rs.safetensors and the last beside it.
    func testEvolutionStrategiesWithValidationOnTwoRanks() throws {
        try metaTrainTiny(["--estimator", "antitheticES", "--tasks-per-meta-step", "2", "--validate-every", "2",
                           "--meta-steps", "2"], timeout: 240) { result, run in
            XCTAssertTrue(result.standardOutput.contains("finished 2 meta-steps"), result.transcript)
            XCTAssertTrue(result.standardOutput.contains("meta-step 2: held-out loss"), result.transcript)
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/l3rs.safetensors"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/l3rs-last.safetensors"))
            let metrics = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
            XCTAssertTrue(metrics.contains("\"validation_loss\""), metrics)
        }
    }

    /// PES on two ranks through the command: three meta-steps (run 0, run 1, run 0, so run 0's pairs persist
    /// across its truncations), and rank 0's checkpoint holds every pair of both runs, those rank 1 unrolled too.
    func testPersistentESOnTwoRanksCheckpointsEveryPair() throws {
        try metaTrainTiny(["--estimator", "pes", "--meta-steps", "3"], timeout: 360) { result, run in
            XCTAssertTrue(result.standardOutput.contains("finished 3 meta-steps"), result.transcript)
            let states = FileManager.default.enumerator(atPath: run)?.compactMap { $0 as? String }
                .filter { $0.hasSuffix("meta-state.safetensors") } ?? []
            let state = try XCTUnwrap(states.sorted().last, "no checkpoint in \(run)")
            let file = try Safetensors.read(run + "/" + state)
            for runIndex in 0..<2 {
                for pair in 0..<8 {
                    let values = try XCTUnwrap(file["pes.\(runIndex).pair.\(pair)"], "pes.\(runIndex).pair.\(pair)").floats()
                    XCTAssertTrue(values.contains { $0 != 0 } && values.allSatisfy(\.isFinite))
                }
            }
        }
    }
}
