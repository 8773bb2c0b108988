import Checkpoints
import Foundation
import TestSupport
import XCTest

/// The trainer end to end, as users run it: the l3rs binary on one rank and under `mpirun -np 2`, each run
/// with a time limit. Uses the real ccexam MNIST backbone and the real 5,000 MNIST digits (`make data`).
final class TrainerLaunchTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var dataDirectory: String { root.appendingPathComponent("data").path }
    static var weights: String { root.appendingPathComponent("data/ccexam/mnist.pth").path }

    var runs: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        let weights = Self.weights
        XCTAssertTrue(FileManager.default.fileExists(atPath: weights), "missing \(weights): run `make data`")
        runs = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-runs-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: runs)
        try super.tearDownWithError()
    }

    /// A short, quick fine-tune: 4,000 training digits, global batch 32.
    func finetuneArguments(name: String, steps: Int = 12, extra: [String] = []) -> [String] {
        ["finetune", "--weights", Self.weights, "--data", "mnist-5k", "--data-directory", Self.dataDirectory,
         "--steps", String(steps), "--global-batch", "32", "--eval-every", "0", "--checkpoint-every", "4",
         "--hash-every", "2", "--name", name, "--runs-directory", runs.path] + extra
    }

    func finalParameters(_ name: String) throws -> [Float] {
        let file = try Safetensors.read(runs.appendingPathComponent("\(name)/final.safetensors").path)
        return file.tensors.filter { $0.dtype == .f32 }.flatMap { $0.floats() }
    }

    func summaryHash(_ name: String) throws -> String {
        let text = try String(contentsOf: runs.appendingPathComponent("\(name)/summary.txt"), encoding: .utf8)
        return String(text.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testOneAndTwoRanksGiveTheSameParameters() throws {
        let single = try MPIRun.run(MPIRun.l3rsExecutable, finetuneArguments(name: "one", steps: 20), timeout: 180)
        XCTAssertEqual(single.exitCode, 0, single.transcript)
        let double = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + finetuneArguments(name: "two", steps: 20), timeout: 180)
        XCTAssertEqual(double.exitCode, 0, double.transcript)
        let a = try finalParameters("one"), b = try finalParameters("two")
        XCTAssertEqual(a.count, 421_642)
        XCTAssertEqual(a.count, b.count)
        // Not bit-exact: with 2 ranks each gradient is the mean of two half-batch GEMM sums, with 1 rank one
        // full-batch sum; float addition is not associative, so the parameters differ by rounding.
        var difference = 0.0, norm = 0.0
        for index in a.indices {
            difference += Double(a[index] - b[index]) * Double(a[index] - b[index])
            norm += Double(a[index]) * Double(a[index])
        }
        let relative = (difference / norm).squareRoot()
        XCTAssertLessThan(relative, 1e-5, "relative difference of 1-rank and 2-rank parameters after 20 steps")
        // They did train: the parameters moved away from the pretrained ones.
        XCTAssertNotEqual(try summaryHash("one"), "")
    }

    func testStoppedAndResumedRunEqualsUninterruptedRun() throws {
        let whole = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + finetuneArguments(name: "whole"), timeout: 180)
        XCTAssertEqual(whole.exitCode, 0, whole.transcript)

        let stopped = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + finetuneArguments(name: "split", extra: ["--simulate-signal-at-step", "6"]), timeout: 180)
        XCTAssertEqual(stopped.exitCode, 75, "a stopped run exits 75\n\(stopped.transcript)")
        XCTAssertTrue(stopped.standardOutput.contains("checkpoint of step 6"), stopped.transcript)

        let fresh = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + finetuneArguments(name: "split"), timeout: 120)
        XCTAssertNotEqual(fresh.exitCode, 0, "starting over a run with checkpoints must be refused\n\(fresh.transcript)")
        XCTAssertTrue(fresh.standardError.contains("--resume auto"), fresh.transcript)

        let resumed = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + finetuneArguments(name: "split", extra: ["--resume", "auto"]), timeout: 180)
        XCTAssertEqual(resumed.exitCode, 0, resumed.transcript)
        XCTAssertTrue(resumed.standardOutput.contains("resuming from step 6"), resumed.transcript)
        XCTAssertEqual(try summaryHash("split"), try summaryHash("whole"))
        XCTAssertEqual(try finalParameters("split"), try finalParameters("whole"))

        // The metrics log has each step exactly once.
        let lines = try String(contentsOf: runs.appendingPathComponent("split/metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, 12, lines.joined(separator: "\n"))
    }

    func testRealSIGTERMCheckpointsAndExits75() throws {
        // One rank, no launcher: the signal goes straight to the trainer.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MPIRun.l3rsExecutable)
        process.arguments = finetuneArguments(name: "signalled", steps: 400)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let metrics = runs.appendingPathComponent("signalled/metrics.jsonl")
        let start = Date()
        while Date().timeIntervalSince(start) < 120 {
            let text = (try? String(contentsOf: metrics, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").count >= 2 { break }
            usleep(50_000)
        }
        process.terminate()  // SIGTERM
        let deadline = Date()
        while process.isRunning && Date().timeIntervalSince(deadline) < 60 { usleep(50_000) }
        if process.isRunning { process.interrupt(); kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 75)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: runs.appendingPathComponent("signalled/checkpoints").path)
        XCTAssertFalse(checkpoints.isEmpty)
        for folder in checkpoints {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runs.appendingPathComponent("signalled/checkpoints/\(folder)/COMPLETE").path), folder)
        }
    }

    func testBadInputsFailOnEveryRankWithAClearMessage() throws {
        let cases: [(String, [String], String)] = [
            ("unknown optimizer", finetuneArguments(name: "bad1", extra: ["--optimizer", "adagrad"]), "--optimizer must be one of sgd, momentum, nesterov, adam, adamw, lion, rmsprop, l3rs, got 'adagrad'"),
            ("unknown schedule", finetuneArguments(name: "bad2", extra: ["--schedule", "step"]), "--schedule must be one of constant, cosine, warmup-cosine, linear, got 'step'"),
            ("inconsistent options", finetuneArguments(name: "bad3", extra: ["--warmup-steps", "50"]), "warmupSteps"),
            ("3×32×32 network on 28×28 images", finetuneArguments(name: "bad4", extra: ["--model", "ccexam-svhn", "--weights", Self.root.appendingPathComponent("data/ccexam/svhn.pth").path]), "3×32×32"),
            ("missing weights", finetuneArguments(name: "bad5", extra: ["--weights", "/nonexistent/w.pth"]), "/nonexistent/w.pth"),
            ("weights of another model", finetuneArguments(name: "bad6", extra: ["--model", "ccexam-usps"]), "does not fit model ccexam-usps"),
        ]
        for (label, arguments, message) in cases {
            let result = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + arguments, timeout: 60)
            XCTAssertFalse(result.timedOut, "\(label): hung\n\(result.transcript)")
            XCTAssertNotEqual(result.exitCode, 0, "\(label)\n\(result.transcript)")
            XCTAssertTrue(result.standardError.contains(message), "\(label): expected '\(message)'\n\(result.transcript)")
        }
    }

    func testResumeFromAnotherWorldSizeIsRefusedUnlessResharding() throws {
        let first = try MPIRun.run(MPIRun.l3rsExecutable, finetuneArguments(name: "reshard", steps: 8), timeout: 120)
        XCTAssertEqual(first.exitCode, 0, first.transcript)
        let refused = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable] + finetuneArguments(name: "reshard", steps: 12, extra: ["--resume", "auto"]), timeout: 120)
        XCTAssertNotEqual(refused.exitCode, 0, refused.transcript)
        XCTAssertTrue(refused.standardError.contains("written by 1 rank(s)"), refused.transcript)
    }
}
