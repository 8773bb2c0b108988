import Foundation
import TestSupport
import XCTest

/// Many nodes for real: two "hosts" made of network namespaces on this machine (jobs/testing/two-host-harness.sh),
/// one rank on each, Open MPI's daemon started on the second host through an ssh stand-in, the ranks talking TCP
/// over a veth link. The job script jobs/mpirun/finetune.sh with hostfiles/two-namespaces must end where the
/// same job on one host ends, bit for bit, and where one rank ends, to float rounding.
final class TwoHostJobTests: XCTestCase {
    private static let harness = "jobs/testing/two-host-harness.sh"
    private static let hosts = ["l3rs-host-a", "l3rs-host-b"]

    /// `l3rs doctor` across the two hosts: rank 0 on l3rs-host-a, rank 1 on l3rs-host-b, each alone on its node,
    /// and its allreduce traffic (200 calls of 4 KB, at least 2 KB sent per call and rank) crossed the veth link.
    func testRanksRunOnTwoHostsAndTalkOverTheLink() throws {
        let result = try runOnTwoHosts(["/bin/bash", "-c", """
            mpirun -np 2 --hostfile "$HOSTFILE" $MPIRUN_FLAGS --allow-run-as-root -x OPENBLAS_NUM_THREADS=1 "$L3RS_BIN" doctor --bytes 4096 \
              && echo "bytes sent over the link: $(cat /sys/class/net/l3rs-veth-a/statistics/tx_bytes)"
            """], timeout: 120)
        guard let result else { return }
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let rows = result.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        for (rank, host) in Self.hosts.enumerated() {
            // rank  host  pid  local rank  ...: each rank is the only one on its node (local rank 0/1).
            XCTAssertTrue(rows.contains { $0.count > 3 && $0[0] == String(rank) && $0[1] == host && $0[3] == "0/1" },
                          "no doctor line for rank \(rank) on \(host) alone on its node\n\(result.transcript)")
        }
        XCTAssertTrue(result.standardOutput.contains("4 KB  200"), result.transcript)
        let sent = result.standardOutput.split(separator: "\n").first { $0.hasPrefix("bytes sent over the link: ") }
            .flatMap { Int($0.dropFirst("bytes sent over the link: ".count)) }
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(sent, result.transcript), 200 * 2048, result.transcript)
        assertNothingLeftBehind()
    }

    /// 40 steps of the short job: two hosts over TCP (the mpirun job script), one host with 2 ranks, 1 rank.
    /// The two 2-rank runs must agree bit for bit (parameters and every step's loss); the 1-rank run averages
    /// the same 32 gradients in another order, so it agrees to float rounding only.
    func testTwoHostRunEqualsTheOneHostRunBitwiseAndOneRankToRounding() throws {
        let runs = try ClusterJob.scratchFolder("two-hosts")
        defer { try? FileManager.default.removeItem(at: runs) }
        let steps = 40
        let twoHosts = try runOnTwoHosts([ClusterJob.script("jobs/mpirun/finetune.sh"), ClusterJob.smokeConfiguration,
                                          "--data-directory", MPIRun.dataDirectory, "--steps", String(steps)],
                                         timeout: 240,
                                         environment: ["RANKS": "2", "L3RS_RUNS": runs.path, "L3RS_NAME": "two-hosts"])
        guard let twoHosts else { return }
        XCTAssertEqual(twoHosts.exitCode, 0, twoHosts.transcript)
        XCTAssertTrue(twoHosts.standardOutput.contains("2 rank(s) from \(MPIRun.repositoryRoot.path)/hostfiles/two-namespaces"),
                      twoHosts.transcript)
        XCTAssertTrue(twoHosts.standardOutput.contains("2 rank(s) (mpi"), twoHosts.transcript)
        assertNothingLeftBehind()

        let oneHost = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable]
                                        + ClusterJob.finetuneArguments(name: "one-host", runs: runs, steps: steps), timeout: 180)
        XCTAssertEqual(oneHost.exitCode, 0, oneHost.transcript)
        let oneRank = try MPIRun.run(MPIRun.l3rsExecutable, ClusterJob.finetuneArguments(name: "one-rank", runs: runs, steps: steps),
                                     timeout: 180, environment: ["OPENBLAS_NUM_THREADS": "1"])
        XCTAssertEqual(oneRank.exitCode, 0, oneRank.transcript)

        let summaries = try ["two-hosts", "one-host", "one-rank"].map {
            try String(contentsOf: runs.appendingPathComponent("\($0)/summary.txt"), encoding: .utf8)
        }
        for summary in summaries { XCTAssertTrue(summary.hasPrefix("finished \(steps) steps"), summary) }
        let twoHostHash = try XCTUnwrap(ClusterJob.parameterHash(in: summaries[0]), summaries[0])
        XCTAssertEqual(ClusterJob.parameterHash(in: summaries[1]), twoHostHash,
                       "two hosts over TCP ended elsewhere than one host\n\(summaries[0])\n\(summaries[1])")

        let comparison = try compareRuns(runs, "two-hosts", with: ["one-host", "one-rank"])
        print("two hosts against one host (2 ranks) and one rank after \(steps) steps: "
              + comparison.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertEqual(comparison["one-host.parameters_equal"], 1, "\(comparison)")
        XCTAssertEqual(comparison["one-host.losses_equal"], 1, "\(comparison)")
        // Measured here: relative difference 1.3e-7 (largest over tensors), 8.3e-7 at most in one weight, 1.2e-7 in
        // one step's loss, after 40 steps; the bounds leave about 100 times that.
        XCTAssertLessThan(comparison["one-rank.relative_difference"] ?? .infinity, 1e-5, "\(comparison)")
        XCTAssertLessThan(comparison["one-rank.largest_difference"] ?? .infinity, 1e-4, "\(comparison)")
        XCTAssertLessThan(comparison["one-rank.largest_loss_difference"] ?? .infinity, 1e-4, "\(comparison)")
    }

    /// A two-host job stopped mid-run (a simulated TERM at step 20: checkpoint, exit 75) and run again with the
    /// same name resumes on both hosts from the checkpoint on the shared file system and ends with the parameters
    /// of the uninterrupted run on one host.
    func testTwoHostRunStoppedAndResumedEndsWithTheUninterruptedParameters() throws {
        let runs = try ClusterJob.scratchFolder("two-hosts-resume")
        defer { try? FileManager.default.removeItem(at: runs) }
        let steps = 40
        let reference = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable]
                                          + ClusterJob.finetuneArguments(name: "reference", runs: runs, steps: steps), timeout: 180)
        XCTAssertEqual(reference.exitCode, 0, reference.transcript)
        let summary = try String(contentsOf: runs.appendingPathComponent("reference/summary.txt"), encoding: .utf8)
        let referenceHash = try XCTUnwrap(ClusterJob.parameterHash(in: summary), summary)

        let job = [ClusterJob.script("jobs/mpirun/finetune.sh"), ClusterJob.smokeConfiguration, "--data-directory", MPIRun.dataDirectory, "--steps", String(steps)]
        let environment = ["RANKS": "2", "L3RS_RUNS": runs.path, "L3RS_NAME": "resumed"]
        guard let stopped = try runOnTwoHosts(job + ["--simulate-signal-at-step", "20"], timeout: 240, environment: environment) else { return }
        XCTAssertEqual(stopped.exitCode, 75, stopped.transcript)
        XCTAssertTrue(stopped.standardOutput.contains("stop signal received: checkpoint of step 20"), stopped.transcript)
        guard let resumed = try runOnTwoHosts(job, timeout: 240, environment: environment) else { return }
        XCTAssertEqual(resumed.exitCode, 0, resumed.transcript)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from step 20"), resumed.transcript)
        let resumedSummary = try String(contentsOf: runs.appendingPathComponent("resumed/summary.txt"), encoding: .utf8)
        XCTAssertEqual(ClusterJob.parameterHash(in: resumedSummary), referenceHash, "\(resumedSummary)\n\(resumed.transcript)")
        assertNothingLeftBehind()
    }

    /// Host b with its own, empty runs/ (a node without the shared file system, chosen by host name as a
    /// per-node wrapper would): the resume of a run checkpointed at step 20 stops on both hosts within seconds,
    /// exit 1, with one line from rank 0 naming rank 1, l3rs-host-b, the checkpoint as host b sees it, and the
    /// remedy. (Before, rank 1 restarted at step 1 and only the collective watchdog ended the job.)
    func testHostWithoutTheRunFolderStopsTheResumeAtOnce() throws {
        let runs = try ClusterJob.scratchFolder("two-hosts-shared")
        let own = try ClusterJob.scratchFolder("two-hosts-host-b")
        defer {
            try? FileManager.default.removeItem(at: runs)
            try? FileManager.default.removeItem(at: own)
        }
        let first = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable]
                                      + ClusterJob.finetuneArguments(name: "private", runs: runs, steps: 20), timeout: 180)
        XCTAssertEqual(first.exitCode, 0, first.transcript)
        let launcher = ["/bin/bash", "-c",
                        #"mpirun -np 2 --hostfile "$HOSTFILE" $MPIRUN_FLAGS --allow-run-as-root -x OPENBLAS_NUM_THREADS=1 "$@""#, "bash"]
        guard let resumed = try runOnTwoHosts(launcher + ClusterJob.replacingPath(runs.path, with: own.path, where: #"[ "$(hostname)" = l3rs-host-b ]"#)
                                              + [MPIRun.l3rsExecutable] + ClusterJob.finetuneArguments(name: "private", runs: runs, steps: 40)
                                              + ["--resume", "auto", "--collective-timeout", "600"], timeout: 180) else { return }
        XCTAssertEqual(resumed.exitCode, 1, resumed.transcript)
        XCTAssertLessThan(resumed.seconds, 60, "the job must stop at once, not at the collective timeout\n\(resumed.transcript)")
        let lines = resumed.standardError.split(separator: "\n").filter { $0.hasPrefix("l3rs: ") }
        XCTAssertEqual(lines.count, 1, resumed.transcript)
        let expected = "l3rs: cannot resume: rank 1 on host l3rs-host-b cannot read \(own.path)/private/checkpoints/step-00000020: "
            + "rank 0 resumes from step 20, and this rank has no complete checkpoint of that step (it sees no checkpoint at all); "
            + "every rank reads the checkpoint rank 0 resumes from, so every node must see rank 0's run folder: put runs/ on a file "
            + "system all nodes share, or copy the run folder to every node before the job (docs/clusters.md)"
        XCTAssertEqual(lines.first.map(String.init), expected, resumed.transcript)
        XCTAssertFalse(resumed.standardOutput.contains("resuming from step"), resumed.transcript)
        print("two hosts, host b without the run folder: stopped with status \(resumed.exitCode.map(String.init) ?? "none") after "
              + String(format: "%.1f s", resumed.seconds) + " (harness included)")
        assertNothingLeftBehind()
    }

    // MARK: - helpers

    /// Runs `command` on the first of the two hosts (the harness builds and removes them); nil, after a failure
    /// that says why, when the harness cannot run here (not root: status 3; a tool missing: 4).
    private func runOnTwoHosts(_ command: [String], timeout: Double, environment: [String: String] = [:],
                               file: StaticString = #filePath, line: UInt = #line) throws -> LaunchResult? {
        let result = try MPIRun.run(ClusterJob.script(Self.harness), command, timeout: timeout,
                                    environment: environment.merging(["L3RS_BIN": MPIRun.l3rsExecutable]) { $1 })
        switch result.exitCode {
        case 3:
            XCTFail("the two-host test needs root to make network namespaces (CI runs as root); run the tests as root\n\(result.standardError)",
                    file: file, line: line)
            return nil
        case 4:
            XCTFail("the two-host harness misses a tool (make deps installs iproute2 as root)\n\(result.standardError)", file: file, line: line)
            return nil
        case nil:
            XCTFail("the two-host job hung: killed after \(Int(timeout)) s\n\(result.transcript)", file: file, line: line)
            return nil
        default:
            return result
        }
    }

    /// The harness removed its namespaces and their hosts files.
    private func assertNothingLeftBehind(file: StaticString = #filePath, line: UInt = #line) {
        let namespaces = (try? MPIRun.run("/usr/bin/env", ["ip", "netns", "list"], timeout: 30).standardOutput) ?? ""
        for host in Self.hosts {
            XCTAssertFalse(namespaces.contains(host), "namespace \(host) left behind: \(namespaces)", file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/etc/netns/\(host)"), "/etc/netns/\(host) left behind",
                           file: file, line: line)
        }
    }

    /// Compares the final parameters (final.safetensors) and the per-step training losses (metrics.jsonl) of
    /// `reference` with each of `others` (numpy and safetensors, which `make deps` installs). Keys per other run:
    /// parameters_equal and losses_equal (1 or 0, bit patterns), relative_difference (largest over tensors of
    /// |a - b| / |a|, L2 norms), largest_difference (largest |a - b| of one parameter), largest_loss_difference.
    private func compareRuns(_ runs: URL, _ reference: String, with others: [String]) throws -> [String: Double] {
        let code = """
        import json, sys
        import numpy as np
        from safetensors.numpy import load_file
        root, reference, others = sys.argv[1], sys.argv[2], sys.argv[3:]
        def losses(name):
            return np.array([json.loads(line)["loss"] for line in open(f"{root}/{name}/metrics.jsonl")], dtype=np.float64)
        a, a_losses = load_file(f"{root}/{reference}/final.safetensors"), losses(reference)
        out = {}
        for name in others:
            b, b_losses = load_file(f"{root}/{name}/final.safetensors"), losses(name)
            assert sorted(a) == sorted(b) and len(a_losses) == len(b_losses), name
            out[name + ".parameters_equal"] = float(all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
                                                       and a[k].tobytes() == b[k].tobytes() for k in a))
            out[name + ".losses_equal"] = float(np.array_equal(a_losses, b_losses))
            out[name + ".relative_difference"] = max(float(np.linalg.norm((a[k] - b[k]).ravel()) / max(np.linalg.norm(a[k].ravel()), 1e-30)) for k in a)
            out[name + ".largest_difference"] = max(float(np.abs(a[k] - b[k]).max()) for k in a)
            out[name + ".largest_loss_difference"] = float(np.abs(a_losses - b_losses).max())
        print(json.dumps(out))
        """
        // A JSON array of strings is a Python list literal.
        let arguments = String(decoding: try JSONSerialization.data(withJSONObject: [runs.path, reference] + others, options: .withoutEscapingSlashes), as: UTF8.self)
        let script = "import sys; sys.argv = [''] + \(arguments)\n" + code
        let result = try runPython(script)
        XCTAssertEqual(result.status, 0, "the comparison failed: \(result.errors)")
        guard let data = result.output.split(separator: "\n").last.map({ Data($0.utf8) }),
              let values = try JSONSerialization.jsonObject(with: data) as? [String: Double] else {
            XCTFail("the comparison printed no JSON: \(result.output)\n\(result.errors)")
            return [:]
        }
        return values
    }
}
