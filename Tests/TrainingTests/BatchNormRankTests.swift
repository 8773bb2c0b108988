import Checkpoints
import Foundation
import TestSupport
import XCTest

/// Synchronised BatchNorm end to end: a BatchNorm net (resnet-28 on the real 5,000 MNIST digits of `make
/// data`) takes the same fine-tuning step on 1 rank and under `mpirun -np 2`, parameters and running
/// statistics, with Adam and with L3RS, from the start and from states 5, 10 and 15 of a 20-step run; with
/// `batchNorm: local` the step differs (so the check can fail).
///
/// The net is first pre-trained briefly (1 rank, SGD), then fine-tuned, as L3RS is used.
///
/// Why steps from shared states and not two 20-step runs compared at the end (as this test did until
/// 2026-12-07): the two runs' gradients differ by float rounding (each rank's weight-gradient GEMMs sum over 4
/// images where one rank sums over 8), and a ReLU net turns rounding into discrete events: a BatchNorm output
/// within ~1e-7 of 0 falls on the other side of its ReLU, the loss is unchanged to the last bit but the backward
/// pass lets a whole upstream gradient through or not (measured: a step whose loss agrees bitwise and whose
/// gradient norm jumps from 2e-8 to 5e-5 relative). Adam's and L3RS's normalised steps then grow that
/// exponentially. Whether such a crossing happens in 20 steps depends on which OpenBLAS kernel rounds the sums:
/// 1 vs 2 ranks after 20 steps, relative parameter difference, with OPENBLAS_CORETYPE set on one AMD EPYC
/// machine (its own kernel is Cooperlake):
///
///     kernel        Adam 1e-3   L3RS 1e-3   Adam 3e-4   Adam 1e-4   L3RS 1e-4
///     Cooperlake    1.4e-7      2.2e-7      1.2e-5      1.8e-8      2.3e-8
///     Haswell       3.0e-6      1.5e-2      3.8e-5      1.7e-8      2.3e-8
///     SkylakeX      9.8e-4      2.9e-3      7.3e-8      2.7e-8      3.2e-8
///     Sandybridge   4.0e-4      9.3e-4      1.7e-6      2.3e-5      2.1e-8
///
/// (momentum SGD at 1e-2: 1.6e-3 on Haswell). So the end-of-run comparison was a lottery, failed in CI on a
/// Haswell-kernel machine, and no learning rate makes it safe, as for any data-parallel trainer whose ranks add
/// gradients in another order than one process does. What synchronised BatchNorm (and the L3RS step on ranks)
/// must guarantee is that every step is the same function of the state: from the same parameters, optimizer
/// state and batch, the forward pass is bitwise the same on 1 and 2 ranks (per-channel sums in Double, added in
/// rank order), so no crossing can differ, and one step agrees to rounding: at most 2.3e-7 (Adam's and L3RS's
/// first step, SkylakeX kernel), 2.4e-9 to 7.5e-9 from later states, on all four kernels above; the issue's
/// bound 1e-5 holds each step with 40x to spare. Each check is a resume (`allowReshard`) of the 1-rank run's
/// checkpoint on 1 and on 2 ranks; the 20-step 2-rank run is still trained and its distance printed.
final class BatchNormRankTests: ScratchFolderTestCase {
    override class var scratchPrefix: String { "l3rs-bn-runs" }
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    var runs: URL { folder }
    var configuration = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        let data = Self.root.appendingPathComponent("data").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: data + "/mnist-5k"), "missing \(data)/mnist-5k: run `make data`")
        // 20 steps of 8 images (4 per rank): small enough for a debug build, and every BatchNorm still sees
        // at least 4·7·7 values per channel on each rank. Every fifth state is kept to step from.
        configuration = runs.appendingPathComponent("bn.yaml").path
        try """
        model: resnet-28
        data: mnist-5k
        dataDirectory: \(data)
        runsDirectory: \(runs.path)
        steps: 20
        globalBatch: 8
        learningRate: 0.001
        evalEvery: 0
        checkpointEvery: 5
        keepCheckpoints: 10
        allowReshard: true
        hashEvery: 5
        evaluationLimit: 8
        """.write(toFile: configuration, atomically: true, encoding: .utf8)
    }

    /// Trains run `name` on `ranks` ranks and returns its final tensors (parameters and running statistics).
    @discardableResult
    private func train(_ name: String, ranks: Int, _ flags: [String]) throws -> TensorFile {
        let arguments = ["finetune", "--config", configuration, "--name", name] + flags
        // One thread on one rank as on two (mpirun's ranks get one). Since the matrix products run as one-thread
        // OpenBLAS calls on the worker pool, results no longer depend on the thread count (GEMMTests); before,
        // OpenBLAS's own threads split sums differently, which Adam's normalised steps turned into a 1.4e-4
        // relative difference after 20 steps. The pin keeps this test about ranks only.
        let result = ranks == 1
            ? try MPIRun.run(MPIRun.l3rsExecutable, arguments, timeout: 240, environment: ["OPENBLAS_NUM_THREADS": "1"])
            : try MPIRun.launch(ranks: ranks, [MPIRun.l3rsExecutable] + arguments, timeout: 240)
        XCTAssertFalse(result.timedOut, "\(name) timed out\n\(result.transcript)")
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        return try Safetensors.read(runs.appendingPathComponent("\(name)/final.safetensors").path)
    }

    /// One step, k → k + 1, on `ranks` ranks from state k of run `trajectory` (k = 0: its start): a copy of
    /// the run folder without the checkpoints after k, resumed (with the checkpoint's world size or another).
    private func step(from k: Int, of trajectory: String, ranks: Int, _ flags: [String], label: String) throws -> TensorFile {
        let name = "\(trajectory)-from-\(k)-\(label)"
        guard k > 0 else { return try train(name, ranks: ranks, flags + ["--steps", "1"]) }
        let manager = FileManager.default
        let copy = runs.appendingPathComponent(name)
        try manager.copyItem(at: runs.appendingPathComponent(trajectory), to: copy)
        try manager.removeItem(at: copy.appendingPathComponent("final.safetensors"))
        let checkpoints = copy.appendingPathComponent("checkpoints")
        for folder in try manager.contentsOfDirectory(atPath: checkpoints.path) {
            guard let saved = Int(folder.dropFirst("step-".count)) else { continue }
            if saved > k { try manager.removeItem(at: checkpoints.appendingPathComponent(folder)) }
        }
        XCTAssertTrue(manager.fileExists(atPath: checkpoints.appendingPathComponent(String(format: "step-%08d", k)).path),
                      "\(trajectory) kept no checkpoint of step \(k)")
        return try train(name, ranks: ranks, flags + ["--steps", String(k + 1), "--resume", "auto", "--allow-changed-configuration"])
    }

    /// ‖a − b‖ / ‖a‖ over the float tensors whose names pass `include`.
    private func relativeDifference(_ a: TensorFile, _ b: TensorFile, include: (String) -> Bool) -> Double {
        var difference = 0.0, norm = 0.0
        for tensor in a.tensors where tensor.dtype == .f32 && include(tensor.name) {
            guard let other = b[tensor.name]?.floats() else { return .infinity }
            for (x, y) in zip(tensor.floats(), other) {
                difference += Double(x - y) * Double(x - y)
                norm += Double(x) * Double(x)
            }
        }
        return (difference / norm).squareRoot()
    }

    private func isRunningStatistic(_ name: String) -> Bool { name.hasSuffix(".running_mean") || name.hasSuffix(".running_var") }

    private func checkpointModel(_ run: String, step: Int) throws -> TensorFile {
        try Safetensors.read(runs.appendingPathComponent(run).appendingPathComponent("checkpoints")
            .appendingPathComponent(String(format: "step-%08d", step)).appendingPathComponent("model.safetensors").path)
    }

    func testSyncBatchNormTakesTheSameStepOnOneAndTwoRanks() throws {
        let pretrained = try train("pretrained", ranks: 1, ["--optimizer", "sgd", "--learning-rate", "0.05", "--steps", "40", "--global-batch", "16"])
        let start = ["--weights", runs.appendingPathComponent("pretrained/final.safetensors").path, "--head", "keep"]
        let tolerance = 1e-5
        for optimizer in ["adam", "l3rs"] {
            // The untrained L3RS: the shipped one is meta-trained for another backbone.
            let flags = start + ["--optimizer", optimizer] + (optimizer == "l3rs" ? ["--l3rs-weights", "none"] : [])
            let trajectory = "\(optimizer)-one"
            let one = try train(trajectory, ranks: 1, flags + ["--steps", "20"])
            XCTAssertEqual(one["bn1.num_batches_tracked"]?.int64s() ?? [], [Int64(40 + 20)], "pre-training and fine-tuning steps")
            for k in [0, 5, 10, 15] {
                let before = k == 0 ? pretrained : try checkpointModel(trajectory, step: k)
                let single = try step(from: k, of: trajectory, ranks: 1, flags, label: "one")
                let double = try step(from: k, of: trajectory, ranks: 2, flags + ["--batch-norm", "sync"], label: "sync")
                let parameters = relativeDifference(single, double) { !self.isRunningStatistic($0) }
                let statistics = relativeDifference(single, double, include: isRunningStatistic)
                let moved = relativeDifference(before, single) { !self.isRunningStatistic($0) }
                print("\(optimizer): step \(k) → \(k + 1) on 1 vs 2 ranks: relative difference of parameters \(parameters), of running statistics \(statistics); the step moved the parameters by \(moved)")
                XCTAssertLessThanOrEqual(parameters, tolerance, "\(optimizer), step from \(k): parameters")
                XCTAssertLessThanOrEqual(statistics, tolerance, "\(optimizer), step from \(k): running statistics")
                // The step is large enough for the tolerance to mean something.
                XCTAssertGreaterThan(moved, 100 * tolerance, "\(optimizer), step from \(k): the step barely moved the parameters")
                XCTAssertEqual(single["bn1.num_batches_tracked"]?.int64s(), double["bn1.num_batches_tracked"]?.int64s())
            }
            // The whole 20-step run on 2 ranks: trained and its distance shown, not asserted (see the type's
            // comment: where a ReLU crossing falls depends on the BLAS kernel's rounding).
            let two = try train("\(optimizer)-two", ranks: 2, flags + ["--steps", "20", "--batch-norm", "sync"])
            print("\(optimizer): 1 vs 2 ranks after 20 steps (information only), relative difference of parameters \(relativeDifference(one, two) { !self.isRunningStatistic($0) })")
            XCTAssertEqual(one["bn1.num_batches_tracked"]?.int64s(), two["bn1.num_batches_tracked"]?.int64s())
        }
        // Each rank normalising its own 4 images takes another step: the running statistics come from 4 images
        // and the gradient through other normalisations.
        let flags = start + ["--optimizer", "adam"]
        let single = try Safetensors.read(runs.appendingPathComponent("adam-one-from-10-one/final.safetensors").path)
        let local = try step(from: 10, of: "adam-one", ranks: 2, flags + ["--batch-norm", "local"], label: "local")
        let parameters = relativeDifference(single, local) { !self.isRunningStatistic($0) }
        let statistics = relativeDifference(single, local, include: isRunningStatistic)
        print("adam: step 10 → 11, 1 rank vs 2 ranks with local BatchNorm: relative difference of parameters \(parameters), of running statistics \(statistics)")
        XCTAssertGreaterThan(parameters, 10 * tolerance)
        XCTAssertGreaterThan(statistics, 1e-3)
    }
}
