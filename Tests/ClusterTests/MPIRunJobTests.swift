import Foundation
import TestSupport
import XCTest

/// The plain-mpirun job script with a hostfile, and `l3rs doctor`, on two ranks of this machine.
final class MPIRunJobTests: XCTestCase {
    /// jobs/mpirun/finetune.sh with hostfiles/single-node (this machine, 2 slots) trains the short job to the end.
    func testMpirunScriptWithHostfileRunsAShortJob() throws {
        let runs = try ClusterJob.scratchFolder("mpirun-job")
        defer { try? FileManager.default.removeItem(at: runs) }
        let result = try MPIRun.run(ClusterJob.script("jobs/mpirun/finetune.sh"),
                                    [ClusterJob.smokeConfiguration, "--data-directory", MPIRun.dataDirectory, "--steps", "40"], timeout: 120,
                                    environment: ["RANKS": "2", "HOSTFILE": "hostfiles/single-node", "L3RS_BIN": MPIRun.l3rsExecutable,
                                                  "L3RS_RUNS": runs.path, "L3RS_NAME": "hostfile-run"])
        XCTAssertFalse(result.timedOut, result.transcript)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        XCTAssertTrue(result.standardOutput.contains("2 rank(s) from hostfiles/single-node, OPENBLAS_NUM_THREADS=1"), result.transcript)
        XCTAssertTrue(result.standardOutput.contains("2 rank(s) (mpi"), result.transcript)
        let summary = try String(contentsOf: runs.appendingPathComponent("hostfile-run/summary.txt"), encoding: .utf8)
        XCTAssertTrue(summary.hasPrefix("finished 40 steps"), summary)
        XCTAssertNotNil(ClusterJob.parameterHash(in: summary), summary)
    }

    /// `l3rs doctor` on 2 ranks: a line per rank and the bandwidth table from 4 KB to 16 MB.
    func testDoctorPrintsBothRanksAndTheBandwidthTable() throws {
        let result = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable, "doctor"], timeout: 120)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        for rank in 0..<2 {
            XCTAssertTrue(lines.contains { $0.hasPrefix("\(rank) ") && $0.contains(" \(rank)/2 ") && $0.contains(host) },
                          "no line for rank \(rank)\n\(result.transcript)")
        }
        XCTAssertTrue(result.standardOutput.contains("algbw GB/s"), result.transcript)
        for size in ["4 KB", "64 KB", "1 MB", "16 MB"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(size + " ") }, "no row for \(size)\n\(result.transcript)")
        }
        XCTAssertTrue(result.standardOutput.contains("no warnings"), result.transcript)
    }

    /// Unbound ranks with as many threads each as the machine has cores (OPENBLAS_NUM_THREADS sizes each rank's
    /// pool) draw the too-many-threads warning.
    func testDoctorWarnsAboutMoreBLASThreadsThanCores() throws {
        var arguments = ["-np", "2", "--oversubscribe", "--bind-to", "none", "-x", "OPENBLAS_NUM_THREADS=\(ProcessInfo.processInfo.activeProcessorCount)"]
        if getuid() == 0 { arguments.append("--allow-run-as-root") }
        let result = try MPIRun.run("/usr/bin/mpirun", arguments + [MPIRun.l3rsExecutable, "doctor", "--bytes", "4096"], timeout: 60)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        XCTAssertTrue(result.standardOutput.contains("warning: ")
                      && result.standardOutput.contains("threads on \(ProcessInfo.processInfo.activeProcessorCount) cores"), result.transcript)
    }
}
