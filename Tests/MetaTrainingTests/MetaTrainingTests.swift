import Checkpoints
import Distributed
import Foundation
import LearnedOptimizer
import MetaTraining
import Network
import Runs
import Training
import XCTest

/// Meta-training end to end on one rank, in process: it improves the optimizer it starts from, and a run
/// stopped by a signal and resumed ends exactly where an uninterrupted run ends.
final class MetaTrainingTests: XCTestCase {
    override func tearDown() {
        StopSignal.reset()
        super.tearDown()
    }

    /// λ0 starts too small for this problem, so a better optimizer exists close to the initial one; a few
    /// deterministic meta-steps must find it on the meta-validation loss of a fixed inner run.
    func testShortMetaTrainingLowersTheMetaValidationLoss() throws {
        var configuration = MetaFixtures.configuration()
        configuration.baseLearningRate = 3e-4
        configuration.metaLearningRate = 0.05
        configuration.truncation = 4
        configuration.horizon = 16
        let trainer = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        let initial = trainer.optimizer.metaParameters
        try trainer.startRuns()
        var skipped = 0
        for _ in 0..<16 {
            if try trainer.metaTrainStep().skipped { skipped += 1 }
        }
        XCTAssertEqual(skipped, 0)
        let before = try trainer.evaluate(metaParameters: initial, steps: 16)
        let after = try trainer.evaluate(metaParameters: trainer.optimizer.metaParameters, steps: 16)
        XCTAssertLessThan(after, before * 0.97, "meta-validation loss \(before) → \(after)")
    }

    /// A small MLP backbone (saved in a fresh folder) meta-trained on the 8×8 digits: seconds per run.
    func smallConfiguration(innerRuns: Int, metaSteps: Int) throws -> MetaTrainingConfiguration {
        try smallMetaTrainingConfiguration(innerRuns: innerRuns, metaSteps: metaSteps)
    }

    /// PES keeps particles and accumulated perturbations across meta-steps: the checkpoint carries them, so a
    /// run stopped after one meta-step and resumed ends at the uninterrupted run's φ (run 0's pairs persist
    /// through the stop).
    func testResumedPESMetaTrainingEqualsAnUninterruptedRun() throws {
        var configuration = try smallConfiguration(innerRuns: 2, metaSteps: 5)
        configuration.estimator = .pes
        configuration.esPairs = 3
        configuration.metaLearningRate = 0.01
        let (whole, _) = try runWholeAndStopped(&configuration, whole: "pes-whole", stopped: "pes-interrupted")
        let resumed = try singleProcessRun(configuration, resume: true).execute()
        guard case let .finished(_, wholeHash, _) = whole, case let .finished(_, resumedHash, _) = resumed else {
            return XCTFail("\(whole) \(resumed)")
        }
        XCTAssertEqual(resumedHash, wholeHash, "φ after a PES resume differs from the uninterrupted run's")
    }

    func testResumedMetaTrainingEqualsAnUninterruptedRun() throws {
        var configuration = try smallConfiguration(innerRuns: 2, metaSteps: 5)
        configuration.checkpointEvery = 2
        configuration.metaLearningRate = 0.01

        let (whole, run) = try runWholeAndStopped(&configuration, whole: "whole", stopped: "interrupted")
        // Starting over without --resume auto would overwrite the stopped run: refused.
        XCTAssertThrowsError(try run.execute())
        let resumed = try singleProcessRun(configuration, resume: true).execute()

        guard case let .finished(steps, wholeHash, _) = whole, case let .finished(resumedSteps, resumedHash, _) = resumed else {
            return XCTFail("\(whole) \(resumed)")
        }
        XCTAssertEqual(steps, 5)
        XCTAssertEqual(resumedSteps, 5)
        XCTAssertEqual(resumedHash, wholeHash, "φ after a resume differs from the uninterrupted run's")
        // The learned optimizer's file holds φ and its configuration.
        let file = try Safetensors.read(run.learnedOptimizerURL.path)
        XCTAssertNotNil(file.metadata[LearnedOptimizerFile.configurationKey])
        XCTAssertEqual(file.metadata["meta_step"], "5")
        let metrics = try String(contentsOf: run.runFolder.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(metrics.count, 5, "the resumed log must not repeat meta-steps")
        XCTAssertTrue(metrics[0].contains("\"meta_loss\"") && metrics[0].contains("lambda/layers.1.weight"))
        XCTAssertTrue(metrics[0].contains("mu/layers.1.weight/adam"))
    }

    /// Runs `configuration` uninterrupted as run `whole`, then as run `stopped` with a stop requested, which
    /// must stop after meta-step 1; `configuration` keeps the stopped run's name, to resume it. Returns the
    /// uninterrupted run's outcome and the stopped run.
    private func runWholeAndStopped(_ configuration: inout MetaTrainingConfiguration, whole: String,
                                    stopped: String) throws -> (MetaTrainingRun.Outcome, MetaTrainingRun) {
        configuration.name = whole
        let outcome = try singleProcessRun(configuration).execute()
        configuration.name = stopped
        let run = singleProcessRun(configuration)
        StopSignal.request()
        defer { StopSignal.reset() }
        XCTAssertEqual(try run.execute(), .stopped(metaStep: 1))
        return (outcome, run)
    }

    /// Meta-training by `configuration` on one process, resuming its run folder when `resume`; not yet executed.
    private func singleProcessRun(_ configuration: MetaTrainingConfiguration, resume: Bool = false) -> MetaTrainingRun {
        MetaTrainingRun(configuration: configuration, communicator: SingleProcessCommunicator(), resume: resume, log: { _ in })
    }

    /// A checkpoint written by another number of ranks is refused, naming both sizes, unless allowReshard
    /// is set; then the run continues to the same φ as an uninterrupted run (global batches do not depend on
    /// the world size).
    func testResumeFromAnotherWorldSizeNeedsAllowReshard() throws {
        var configuration = try smallConfiguration(innerRuns: 1, metaSteps: 3)
        let (whole, run) = try runWholeAndStopped(&configuration, whole: "whole", stopped: "resharded")
        // Pretend two ranks wrote the checkpoint.
        let store = CheckpointStore(folder: run.runFolder.appendingPathComponent("checkpoints"))
        let path = store.path(step: try XCTUnwrap(store.completeSteps().first), file: MetaTrainer.stateFileName)
        var file = try Safetensors.read(path)
        XCTAssertEqual(file.metadata["world_size"], "1")
        file.metadata["world_size"] = "2"
        try Safetensors.write(file, to: path)

        XCTAssertThrowsError(try singleProcessRun(configuration, resume: true).execute()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("2 rank(s)") && text.contains("this run has 1") && text.contains("allowReshard"), text)
        }
        configuration.allowReshard = true
        let resumed = try singleProcessRun(configuration, resume: true).execute()
        guard case let .finished(_, wholeHash, _) = whole, case let .finished(_, resumedHash, _) = resumed else {
            return XCTFail("\(whole) \(resumed)")
        }
        XCTAssertEqual(resumedHash, wholeHash)
    }
}

/// Shared paths of the meta-training tests.
enum TestPaths {
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
    /// `make data` fills it; tests fail (never skip) when it is missing.
    static var data: String { ProcessInfo.processInfo.environment["L3RS_DATA_DIR"] ?? repositoryRoot + "/data" }
}

func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-meta-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A small MLP backbone (saved in a fresh folder) meta-trained on the 8×8 digits: seconds per run.
func smallMetaTrainingConfiguration(innerRuns: Int, metaSteps: Int) throws -> MetaTrainingConfiguration {
    let folder = try temporaryFolder()
    let weights = folder.appendingPathComponent("backbone.safetensors").path
    try ModelWeights.save(ModelZoo.make(named: "mlp", classCount: 10, seed: 3), to: weights)
    var configuration = MetaTrainingConfiguration()
    configuration.runsDirectory = folder.path
    configuration.model = "mlp"
    configuration.weights = weights
    configuration.data = "digits"
    configuration.resize = true
    configuration.dataDirectory = TestPaths.data
    configuration.globalBatch = 16
    configuration.validationBatch = 16
    configuration.truncation = 2
    configuration.horizon = 6
    configuration.innerRuns = innerRuns
    configuration.metaSteps = metaSteps
    configuration.progressSeconds = 1000
    return configuration
}
