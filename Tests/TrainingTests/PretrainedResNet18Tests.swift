import Checkpoints
import Datasets
import Distributed
import Foundation
import Network
import TestSupport
import XCTest
@testable import Training

/// The ResNet-18 pre-trained here on Fashion-MNIST (jobs/pretrained/README.md), as `make data` installs it:
/// it scores the accuracy its README states, and the fine-tuning path takes it with a new 10-class head.
final class PretrainedResNet18Tests: XCTestCase {
    private let files = TestFiles(testFile: #filePath, scratchPrefix: "l3rs-pretrained-resnet18")
    private static let installedWeights = "resnet18-fmnist/resnet18-fmnist.safetensors"
    /// Accuracy on the first 1,000 Fashion-MNIST test images, stated in jobs/pretrained/README.md.
    private static let statedSubsetAccuracy = 0.894
    /// Evaluation is deterministic; the tolerance (5 of 1,000 images) leaves room for kernels that sum in
    /// another order and so flip an image whose top two logits are nearly tied.
    private static let tolerance = 0.005

    func testShippedWeightsReachTheirStatedFashionMNISTAccuracy() throws {
        let path = try files.requireData(Self.installedWeights)
        let file = try TensorFileLoader.load(path).file
        XCTAssertEqual(file["layer4.1.conv2.weight"]?.dtype, .f16, "the README states F16 storage")
        let model = try ModelZoo.make(named: "resnet18@32", classCount: 10, seed: 0)
        try ModelWeights.load(into: model, from: path)

        let raw = try DatasetRegistry.load("fashion-mnist", split: .test, dataDirectory: files.data, imageShape: model.inputShape)
        let prepared = try InputPipeline.prepare(raw, for: model, resize: true)
        let subset = prepared.subset(Array(0..<1000))
        let result = try ShardedObjective(model: model, communicator: SingleProcessCommunicator()).evaluate(subset)
        XCTAssertEqual(result.accuracy, Self.statedSubsetAccuracy, accuracy: Self.tolerance)
    }

    /// `finetune --model resnet18@32 --weights … --head reinit` on a 10-class target it never saw (mnist-5k):
    /// with the backbone frozen (and BatchNorm in evaluation mode) the saved model holds the shipped backbone
    /// exactly and a head that is not the shipped one. The weights fit torchvision's 224×224 resnet18 too.
    func testFinetuningTakesTheWeightsWithANewHead() throws {
        let path = try files.requireData(Self.installedWeights)
        let scratch = try files.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var configuration = TrainingConfiguration()
        configuration.name = "finetune-resnet18"
        configuration.runsDirectory = scratch
        configuration.dataDirectory = files.data
        configuration.model = "resnet18@32"
        configuration.weights = path
        configuration.data = "mnist-5k"
        configuration.resize = true
        configuration.head = .reinit
        configuration.freeze = ["conv1.*", "bn1.*", "layer*"]
        configuration.batchNorm = .frozen
        configuration.globalBatch = 8
        configuration.steps = 2
        configuration.evalEvery = 0
        configuration.checkpointEvery = 0
        configuration.evaluationLimit = 16
        let outcome = try TrainingRun(configuration: configuration, communicator: SingleProcessCommunicator(), resume: false,
                                      log: { _ in }).execute()
        guard case .finished(let summary) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(summary.steps, 2)

        let shipped = try TensorFileLoader.load(path).file
        let tuned = try Safetensors.read(scratch + "/finetune-resnet18/final.safetensors")
        for name in ["conv1.weight", "layer4.1.conv2.weight", "layer2.0.bn1.running_var"] {
            XCTAssertEqual(try XCTUnwrap(tuned[name]).floats(), try XCTUnwrap(shipped[name]).floats(), name)
        }
        XCTAssertNotEqual(try XCTUnwrap(tuned["fc.weight"]).floats(), try XCTUnwrap(shipped["fc.weight"]).floats())

        let imageNetSized = try ModelZoo.make(named: "resnet18", classCount: 10, seed: 0)
        XCTAssertNoThrow(try ModelWeights.load(into: imageNetSized, from: path))
    }
}
