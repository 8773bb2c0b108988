import Checkpoints
import Foundation
import Network
import Optimizers
import Runs
import XCTest
@testable import Training

final class ParameterGroupsAndWeightsTests: XCTestCase {
    func testHeadMultiplierFreezeAndNoDecayOnBiases() throws {
        let model = try ModelZoo.make(named: "ccexam-mnist", seed: 1)
        var configuration = TrainingConfiguration()
        configuration.headLearningRateMultiplier = 10
        configuration.freeze = ["features.*"]
        let groups = try ParameterGroups.make(for: model, configuration: configuration)
        for entry in model.parameters.entries {
            let group = try XCTUnwrap(groups.first { $0.range.contains(entry.offset) }, entry.name)
            XCTAssertEqual(group.learningRateMultiplier, entry.name.hasPrefix("features.") ? 0 : (entry.name.hasPrefix("classifier.2") ? 10 : 1), entry.name)
            XCTAssertEqual(group.appliesWeightDecay, entry.name.hasSuffix("weight"), entry.name)
        }
        XCTAssertEqual(groups.reduce(0) { $0 + $1.count }, model.parameterCount)
    }

    /// Layer groups by role from the layer table (ccexam MNIST: conv, conv, linear, head; an MLP has no
    /// convolutions), and per-group multipliers and schedules reaching exactly the parameters of each group.
    func testLayerGroupsByRoleCarryTheirMultipliersAndSchedules() throws {
        let model = try ModelZoo.make(named: "ccexam-mnist", seed: 1)
        XCTAssertEqual(LayerGroups.roles(of: model), ["first-conv", "first-conv", "conv", "conv", "hidden", "hidden", "head", "head"])
        let mlp = try ModelZoo.make(named: "mlp", seed: 1)
        XCTAssertEqual(Set(LayerGroups.roles(of: mlp)), ["hidden", "head"])
        var configuration = TrainingConfiguration()
        configuration.steps = 20
        configuration.warmupSteps = 2
        configuration.headLearningRateMultiplier = 10
        configuration.groupMultipliers = ["first-conv": 0.5, "head": 2]
        configuration.groupSchedules = ["conv": "linear", "head": "cosine"]
        try configuration.validate()
        let groups = try ParameterGroups.make(for: model, configuration: configuration)
        XCTAssertEqual(groups.map(\.name), ["first-conv", "first-conv", "conv", "conv", "hidden", "hidden", "head", "head"],
                       "weights and biases stay apart (weight decay), roles never merge")
        for (group, entry) in zip(groups, model.parameters.entries) {
            XCTAssertEqual(group.offset, entry.offset, entry.name)
            switch group.name {
            case "first-conv": XCTAssertEqual(group.learningRateMultiplier, 0.5); XCTAssertNil(group.schedule)
            case "conv": XCTAssertEqual(group.schedule, LearningRateSchedule(warmupSteps: 2, decay: .linear(totalSteps: 20, finalFraction: 0)))
            case "hidden": XCTAssertEqual(group.learningRateMultiplier, 1); XCTAssertNil(group.schedule)
            default:
                XCTAssertEqual(group.learningRateMultiplier, 20, "head multiplier × group multiplier")
                XCTAssertEqual(group.schedule, .warmupCosine(warmupSteps: 2, totalSteps: 20))
            }
        }
        configuration.groupMultipliers = ["decoder": 1]
        configuration.groupSchedules = ["head": "step"]
        XCTAssertThrowsError(try configuration.validate()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("unknown layer group 'decoder'"), text)
            XCTAssertTrue(text.contains("groupSchedules.head must be one of constant, cosine, linear, got 'step'"), text)
        }
    }

    func testFreezePatternThatMatchesNothingIsAnError() throws {
        let model = try ModelZoo.make(named: "ccexam-mnist", seed: 1)
        var configuration = TrainingConfiguration()
        configuration.freeze = ["backbone.*"]
        XCTAssertThrowsError(try ParameterGroups.make(for: model, configuration: configuration)) { error in
            XCTAssertTrue(String(describing: error).contains("backbone.*"), "\(error)")
        }
    }

    func testWeightsRoundTripAndMismatchesListTheTensors() throws {
        let model = try ModelZoo.make(named: "ccexam-usps", seed: 3)
        let file = ModelWeights.tensorFile(of: model)
        XCTAssertEqual(file["features.1.num_batches_tracked"]?.dtype, .i64)
        let copy = try ModelZoo.make(named: "ccexam-usps", seed: 4)
        try ModelWeights.load(into: copy, from: file, source: "memory")
        XCTAssertEqual(Array(copy.parameters.values), Array(model.parameters.values))
        XCTAssertEqual(Array(copy.buffers.values), Array(model.buffers.values))

        let other = try ModelZoo.make(named: "ccexam-mnist", seed: 4)
        XCTAssertThrowsError(try ModelWeights.load(into: other, from: file, source: "usps.safetensors")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("usps.safetensors"), text)
            XCTAssertTrue(text.contains("missing tensor(s) features.3.weight"), text)
            XCTAssertTrue(text.contains("unknown tensor(s)"), text)
        }
        // A head of another shape is accepted only when it is skipped (re-initialised).
        let elevenClasses = try ModelZoo.make(named: "ccexam-usps", classCount: 11, seed: 4)
        XCTAssertThrowsError(try ModelWeights.load(into: elevenClasses, from: file, source: "f")) { error in
            XCTAssertTrue(String(describing: error).contains("classifier.4.weight: file has [10, 128], model expects [11, 128]"), "\(error)")
        }
        try ModelWeights.load(into: elevenClasses, from: file, source: "f", skipping: Set(elevenClasses.headParameterNames))
    }

    /// A torchvision ResNet-18 saved by a DistributedDataParallel script (`module.` names, int64
    /// num_batches_tracked) loads under torchvision's names; a checkpoint with another class count names `fc`
    /// and the head option, and loads once the head is skipped.
    func testTorchvisionResNetCheckpointFromDataParallelTraining() throws {
        let source = try ModelZoo.make(named: "resnet18@32", classCount: 10, seed: 5)
        source.buffers.values[3] = 0.25
        var file = ModelWeights.tensorFile(of: source)
        file = TensorFile(tensors: file.tensors.map { tensor in
            var wrapped = tensor
            wrapped.name = "module." + tensor.name
            return wrapped
        })
        XCTAssertEqual(file["module.layer1.0.bn1.num_batches_tracked"]?.dtype, .i64)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ddp-resnet18-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Safetensors.write(file, to: path)

        let copy = try ModelZoo.make(named: "resnet18@32", classCount: 10, seed: 6)
        try ModelWeights.load(into: copy, from: path)
        XCTAssertEqual(Array(copy.parameters.values), Array(source.parameters.values))
        XCTAssertEqual(Array(copy.buffers.values), Array(source.buffers.values))

        let fiveClasses = try ModelZoo.make(named: "resnet18@32", classCount: 5, seed: 6)
        XCTAssertThrowsError(try ModelWeights.load(into: fiveClasses, from: path)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("fc.weight: file has [10, 512], model expects [5, 512]"), text)
            XCTAssertTrue(text.contains("head: reinit"), text)
        }
        try ModelWeights.load(into: fiveClasses, from: path, skipping: Set(fiveClasses.headParameterNames))
        let body = try XCTUnwrap(fiveClasses.parameters.entry(named: "layer4.1.conv2.weight"))
        XCTAssertEqual(Array(fiveClasses.parameters.values(of: body)), Array(source.parameters.values(of: body)))

        let resnet34 = try ModelZoo.make(named: "resnet34@32", classCount: 10, seed: 6)
        XCTAssertThrowsError(try ModelWeights.load(into: resnet34, from: path)) { error in
            XCTAssertTrue(String(describing: error).contains("missing tensor(s) layer1.2.conv1.weight"), "\(error)")
        }
    }

    func testIncompleteCheckpointIsNeverResumedFrom() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = CheckpointStore(folder: folder, keep: 2)
        let model = try ModelZoo.make(named: "mlp", seed: 5)
        for step in [10, 20, 30] {
            try store.save(model: model, state: .init(step: step, worldSize: 2, modelName: model.name, optimizerName: "momentum",
                                                      optimizerTensors: [NamedTensor(name: "optimizer.first_moment", shape: [2], floats: [1, 2])],
                                                      optimizerMetadata: ["optimizer_step": String(step)]))
        }
        XCTAssertEqual(store.completeSteps(), [30, 20], "only the newest two are kept")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("step-00000030/COMPLETE"))
        let state = try XCTUnwrap(try store.loadLatest(into: model))
        XCTAssertEqual(state.step, 20)
        XCTAssertEqual(state.worldSize, 2)
        XCTAssertEqual(state.optimizerTensors.first { $0.name == "optimizer.first_moment" }?.floats(), [1, 2])
        XCTAssertEqual(state.optimizerMetadata["optimizer_step"], "20")
        XCTAssertEqual(state.optimizerName, "momentum")
    }
}
