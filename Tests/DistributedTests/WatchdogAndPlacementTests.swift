import Synchronization
import XCTest
@testable import Distributed

/// The collective watchdog on its own (no MPI: the stall action is a closure), and the layout advice of
/// `l3rs doctor` on made-up layouts.
final class CollectiveWatchdogTests: XCTestCase {
    func testReportsACollectiveThatOutlivesTheTimeoutOnceWithItsPhase() throws {
        let stalls = Mutex<[CollectiveWatchdog.Stall]>([])
        let watchdog = CollectiveWatchdog(timeout: .milliseconds(200), pollInterval: .milliseconds(20)) { stall in
            stalls.withLock { $0.append(stall) }
        }
        defer { watchdog.stop() }
        watchdog.setPhase("step 7")
        watchdog.begin("allreduce (sum) of 10 floats")
        let deadline = Date().addingTimeInterval(5)
        while stalls.withLock({ $0.isEmpty }) && Date() < deadline { usleep(10_000) }
        usleep(200_000)
        let seen = stalls.withLock { $0 }
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen.first?.collective, "allreduce (sum) of 10 floats")
        XCTAssertEqual(seen.first?.phase, "step 7")
        XCTAssertGreaterThan(seen.first?.seconds ?? 0, 0.2)
    }

    func testCollectivesThatFinishInTimeAreNotReported() throws {
        let fired = Atomic<Int>(0)
        let watchdog = CollectiveWatchdog(timeout: .milliseconds(300), pollInterval: .milliseconds(10)) { _ in
            fired.add(1, ordering: .relaxed)
        }
        defer { watchdog.stop() }
        for index in 0..<20 {
            watchdog.begin("barrier \(index)")
            usleep(20_000)
            watchdog.end()
        }
        usleep(400_000)  // idle time between collectives never counts
        XCTAssertEqual(fired.load(ordering: .relaxed), 0)
    }

    func testWatchedCommunicatorPassesCollectivesThrough() throws {
        let watched = WatchedCommunicator(SingleProcessCommunicator(), timeout: .seconds(60))
        var values: [Float] = [1, 2, 3]
        watched.enterPhase("step 1")
        try watched.allreduce(&values, op: .sum)
        try values.withUnsafeMutableBufferPointer { try watched.startAllreduce($0, op: .mean).wait() }
        try watched.barrier()
        XCTAssertEqual(values, [1, 2, 3])
        XCTAssertEqual(try watched.allgather("host-a"), ["host-a"])
    }

    /// The watched request asks the inner one: a `true` without asking made the bench's polled barrier spin
    /// in MPI_Wait and kept overlapped buckets from moving during backward.
    func testWatchedRequestProgressAsksTheInnerRequest() throws {
        final class ThirdPokeLands: AllreduceRequest {
            var pokes = 0
            func wait() throws { pokes = 3 }
            func progress() throws -> Bool {
                pokes += 1
                return pokes >= 3
            }
        }
        let inner = ThirdPokeLands()
        let watchdog = CollectiveWatchdog(timeout: .seconds(60), pollInterval: .milliseconds(50)) { _ in }
        defer { watchdog.stop() }
        let request = WatchedRequest(inner, watchdog: watchdog, name: "test")
        XCTAssertFalse(try request.progress())
        XCTAssertFalse(try request.progress())
        XCTAssertTrue(try request.progress())
        XCTAssertEqual(inner.pokes, 3)
    }
}

final class PlacementAdviceTests: XCTestCase {
    private func layout(host: String = "node1", ranks: Int, cores: Int, threads: Int, allowed: Int? = nil, first: Int = 0) -> [RankPlacement] {
        (0..<ranks).map { local in
            RankPlacement(rank: first + local, host: host, processID: 100 + local, localRank: local, localSize: ranks,
                          onlineCores: cores, allowedCores: allowed ?? cores, blasCore: "Zen", blasThreads: threads)
        }
    }

    func testAWellFilledNodeHasNoWarnings() {
        XCTAssertEqual(PlacementAdvice.warnings(layout(ranks: 2, cores: 2, threads: 1), launcherVersion: "Open MPI v4.1.4",
                                                libraryVersion: "Open MPI v4.1.4, package: Debian"), [])
        XCTAssertEqual(PlacementAdvice.warnings(layout(ranks: 4, cores: 16, threads: 4, allowed: 4), launcherVersion: nil, libraryVersion: nil), [])
    }

    /// Ranks first while each keeps ≥ 32 images, a divisor of the cores, the rest as threads.
    func testSuggestedLayoutPrefersRanksWhileTheBatchAllows() {
        func layout(_ cores: Int, _ nodes: Int, _ batch: Int) -> String {
            let (ranks, threads) = PlacementAdvice.suggestedLayout(cores: cores, nodes: nodes, globalBatch: batch)
            return "\(ranks)x\(threads)"
        }
        XCTAssertEqual(layout(2, 1, 128), "2x1")
        XCTAssertEqual(layout(16, 1, 128), "4x4")
        XCTAssertEqual(layout(16, 1, 1024), "16x1")
        XCTAssertEqual(layout(16, 4, 128), "1x16")
        XCTAssertEqual(layout(6, 1, 128), "3x2")
        XCTAssertEqual(layout(8, 1, 16), "1x8")
        XCTAssertEqual(layout(12, 2, 256), "4x3")
    }

    func testOversubscribedCores() {
        let warnings = PlacementAdvice.warnings(layout(ranks: 4, cores: 2, threads: 1), launcherVersion: nil, libraryVersion: nil)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].contains("oversubscribed"), warnings[0])
    }

    func testIdleCoresWithOneBLASThread() {
        let warnings = PlacementAdvice.warnings(layout(ranks: 2, cores: 16, threads: 1), launcherVersion: nil, libraryVersion: nil)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].contains("idle") && warnings[0].contains("OPENBLAS_NUM_THREADS=8"), warnings[0])
    }

    func testTooManyBLASThreads() {
        let warnings = PlacementAdvice.warnings(layout(ranks: 2, cores: 2, threads: 2), launcherVersion: nil, libraryVersion: nil)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].contains("4 threads on 2 cores"), warnings[0])
        let bound = PlacementAdvice.warnings(layout(ranks: 2, cores: 8, threads: 4, allowed: 1), launcherVersion: nil, libraryVersion: nil)
        XCTAssertEqual(bound.count, 2, "\(bound)")
        XCTAssertTrue(bound.allSatisfy { $0.contains("may run on 1 core(s)") }, "\(bound)")
    }

    func testNodesAreJudgedSeparately() {
        let placements = layout(host: "a", ranks: 2, cores: 2, threads: 1) + layout(host: "b", ranks: 3, cores: 2, threads: 1, first: 2)
        let warnings = PlacementAdvice.warnings(placements, launcherVersion: nil, libraryVersion: nil)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].hasPrefix("b: 3 ranks on 2 cores"), warnings[0])
    }

    func testMismatchedOpenMPIVersions() {
        let warnings = PlacementAdvice.warnings(layout(ranks: 2, cores: 2, threads: 1), launcherVersion: "mpirun (Open MPI) 4.1.6",
                                                libraryVersion: "Open MPI v4.1.4, package: Debian OpenMPI")
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].contains("4.1.6") && warnings[0].contains("4.1.4"), warnings[0])
    }

    func testVersionNumbersAndPlacementRecords() {
        XCTAssertEqual(MPIVersion.number(in: "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4"), "4.1.4")
        XCTAssertEqual(MPIVersion.number(in: "mpirun (Open MPI) 5.0.3."), "5.0.3")
        XCTAssertNil(MPIVersion.number(in: "unknown"))
        let record = RankPlacement(rank: 3, host: "n-7", processID: 42, localRank: 1, localSize: 4, onlineCores: 64,
                                   allowedCores: 16, blasCore: "SkylakeX", blasThreads: 16)
        XCTAssertEqual(RankPlacement(encoded: record.encoded), record)
        XCTAssertNil(RankPlacement(encoded: "not\ta record"))
        XCTAssertGreaterThanOrEqual(onlineCoreCount(), allowedCoreCount())
    }
}
