import Checkpoints
import Datasets
import Distributed
import Foundation
import LearnedOptimizer
import MetaTraining
import Network
import Runs
import Training
import XCTest

/// Meta-training that blows up stops as diverged instead of writing its φ, a learned optimizer holding NaN is
/// refused at load, and meta-training on npy: data (whose class count comes from its labels) runs.
final class DivergencePolicyTests: XCTestCase {
    override func tearDown() {
        StopSignal.reset()
        super.tearDown()
    }

    /// At a meta-learning rate of 1e6 φ's step sizes explode within a few meta-steps: the run stops with the
    /// divergence error (exit status 65) and leaves no summary and no final learned optimizer beyond the last good
    /// checkpoint's.
    func testExplodingMetaTrainingStopsAsDiverged() throws {
        var configuration = try smallMetaTrainingConfiguration(innerRuns: 2, metaSteps: 40)
        configuration.name = "exploding"
        configuration.metaLearningRate = 1e6
        configuration.initialPreferredLogit = 0
        configuration.maxNonFiniteSteps = 2
        configuration.checkpointEvery = 1
        let run = MetaTrainingRun(configuration: configuration, communicator: SingleProcessCommunicator(), resume: false, log: { _ in })
        XCTAssertThrowsError(try run.execute()) { error in
            guard let divergence = error as? DivergenceError else { return XCTFail("\(error)") }
            XCTAssertEqual(divergence.consecutive, 2)
            XCTAssertEqual(divergence.exitStatus, 65)
            XCTAssertTrue(divergence.description.contains("meta-loss"), divergence.description)
            XCTAssertLessThan(divergence.step, 40)
            // Checkpoints stop at the last good meta-step, two before the stop.
            let store = CheckpointStore(folder: run.runFolder.appendingPathComponent("checkpoints"))
            if let newest = store.completeSteps().first { XCTAssertEqual(newest, divergence.step - 2) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.runFolder.appendingPathComponent("summary.txt").path))
        if FileManager.default.fileExists(atPath: run.learnedOptimizerURL.path) {
            let φ = try Safetensors.read(run.learnedOptimizerURL.path)
            XCTAssertTrue(φ.tensors.allSatisfy { $0.floats().allSatisfy(\.isFinite) })
        }
    }

    /// A learned-optimizer file with a NaN in φ is refused naming the file and the tensor.
    func testLearnedOptimizerWithNaNIsRefused() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let saved = try SavedLearnedOptimizer(L3RSConfiguration(variant: .kindAndDepth), model: "mlp", in: folder,
                                              fileName: "nan.safetensors")
        let path = saved.path
        var file = try Safetensors.read(path)
        var values = file.tensors[0].floats()
        values[0] = .nan
        file.tensors[0] = NamedTensor(name: file.tensors[0].name, shape: file.tensors[0].shape, floats: values)
        try Safetensors.write(file, to: path, checksums: true)
        XCTAssertThrowsError(try LearnedOptimizerFile.load(path, layers: saved.layers, parameterCount: saved.parameterCount)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("\(path): tensor \(file.tensors[0].name) holds 1 NaN"), text)
        }
    }

    /// npy: data has no registered class count; meta-training takes it from the labels (it used to make a
    /// one-class backbone and stop on a precondition).
    func testMetaTrainingOnNPYData() throws {
        var configuration = try smallMetaTrainingConfiguration(innerRuns: 1, metaSteps: 1)
        let folder = URL(fileURLWithPath: configuration.runsDirectory).appendingPathComponent("npy")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let count = 256
        let images = (0..<(count * 28 * 28)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 24) }
        let labels = (0..<count).map { Int64($0 % 10) }
        try Data(NPYArray(uint8: images, shape: [count, 28, 28]).encoded()).write(to: folder.appendingPathComponent("train_images.npy"))
        try Data(NPYArray(int64: labels, shape: [count]).encoded()).write(to: folder.appendingPathComponent("train_labels.npy"))
        configuration.data = "npy:" + folder.path
        configuration.resize = false
        configuration.name = "npy-run"
        let outcome = try MetaTrainingRun(configuration: configuration, communicator: SingleProcessCommunicator(),
                                          resume: false, log: { _ in }).execute()
        guard case let .finished(metaSteps, _, _) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(metaSteps, 1)
    }
}
