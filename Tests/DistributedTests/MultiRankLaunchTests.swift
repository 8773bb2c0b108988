import XCTest
import TestSupport
@testable import Distributed

/// Real two-rank runs under mpirun, each with a time limit so that a hang fails instead of stalling CI.
final class MultiRankLaunchTests: XCTestCase {
    override func setUp() {
        super.setUp()
        // Under mpirun this class must not launch mpirun again.
        XCTAssertFalse(MPIEnvironment.isLaunchedByMPI, "MultiRankLaunchTests must run outside mpirun")
    }

    func testCollectiveChecksPassOnTwoRanks() throws {
        let result = try MPIRun.launch(ranks: 2, [MPIRun.testBundleExecutable, "DistributedTests.CollectiveChecks"], timeout: 120)
        XCTAssertFalse(result.timedOut, "mpirun timed out after \(result.seconds) s\n\(result.transcript)")
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        // Both ranks ran every check, and none failed.
        let executed = result.standardOutput.components(separatedBy: "Executed 11 tests, with 0 failures").count - 1
        XCTAssertGreaterThanOrEqual(executed, 2, result.transcript)
    }

    func testBucketAndHashChecksPassOnTwoRanks() throws {
        let result = try MPIRun.launch(ranks: 2, [MPIRun.testBundleExecutable, "DistributedTests.BucketAndHashChecks"], timeout: 120)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let executed = result.standardOutput.components(separatedBy: "Executed 3 tests, with 0 failures").count - 1
        XCTAssertGreaterThanOrEqual(executed, 2, result.transcript)
    }

    func testSelftestOnTwoRanks() throws {
        let result = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable, "selftest", "--elements", "100000"], timeout: 60)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        XCTAssertTrue(result.standardOutput.contains("rank 0/2"), result.transcript)
        XCTAssertTrue(result.standardOutput.contains("rank 1/2"), result.transcript)
        XCTAssertTrue(result.standardOutput.contains("allreduce verified: 100000 floats summed over 2 rank(s)"), result.transcript)
    }

    func testSelftestWithoutLauncherIsOneRank() throws {
        let result = try MPIRun.run(MPIRun.l3rsExecutable, ["selftest", "--elements", "1000"], timeout: 60)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        XCTAssertTrue(result.standardOutput.contains("rank 0/1"), result.transcript)
        XCTAssertTrue(result.standardOutput.contains("single-process"), result.transcript)
    }

    func testAFailingRankEndsTheWholeJobQuickly() throws {
        let result = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable, "selftest", "--inject-failure-on-rank", "1"], timeout: 60)
        XCTAssertFalse(result.timedOut, "the job hung after one rank failed\n\(result.transcript)")
        XCTAssertNotEqual(result.exitCode, 0, result.transcript)
        XCTAssertLessThan(result.seconds, 30, result.transcript)
        XCTAssertTrue(result.standardError.contains("rank 1 of 2"), result.transcript)
        XCTAssertTrue(result.standardError.contains("injected failure"), result.transcript)
    }
}
