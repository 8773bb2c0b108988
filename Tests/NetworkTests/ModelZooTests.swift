import XCTest
@testable import Network

/// Names, shapes and counts that must match the PyTorch state_dicts of the ccexam weights one to one.
/// The expected lists are the keys and shapes stored in `ccexam/weights/{mnist,usps,svhn}.pth` of the
/// `ccexam==1.0.0` wheel.
final class ModelZooTests: XCTestCase {
    private func layout(_ store: ParameterStore) -> [String] {
        store.entries.map { "\($0.name) \($0.shape)" }
    }

    func testCcexamMNISTNamesShapesAndCount() {
        let model = ModelZoo.ccexamMNIST(seed: 0)
        XCTAssertEqual(layout(model.parameters), [
            "features.0.weight [32, 1, 3, 3]", "features.0.bias [32]",
            "features.3.weight [64, 32, 3, 3]", "features.3.bias [64]",
            "classifier.0.weight [128, 3136]", "classifier.0.bias [128]",
            "classifier.2.weight [10, 128]", "classifier.2.bias [10]",
        ])
        XCTAssertEqual(model.parameterCount, 421_642)
        XCTAssertEqual(model.parameters.entries.map(\.count).reduce(0, +), 421_642)
        XCTAssertTrue(model.buffers.entries.isEmpty)
        XCTAssertEqual(model.headParameterNames, ["classifier.2.weight", "classifier.2.bias"])
        XCTAssertEqual(model.inputShape, [1, 28, 28])
        XCTAssertEqual(model.classCount, 10)
        // Offsets tile the flat buffer in table order.
        var offset = 0
        for entry in model.parameters.entries {
            XCTAssertEqual(entry.offset, offset, entry.name)
            offset += entry.count
        }
        XCTAssertEqual(model.parameters.values.count, offset)
        XCTAssertEqual(model.parameters.gradients.count, offset)
    }

    func testCcexamUSPSNamesAndShapes() {
        let model = ModelZoo.ccexamUSPS(seed: 0)
        XCTAssertEqual(layout(model.parameters), [
            "features.0.weight [32, 1, 3, 3]", "features.0.bias [32]",
            "features.1.weight [32]", "features.1.bias [32]",
            "features.4.weight [64, 32, 3, 3]", "features.4.bias [64]",
            "features.5.weight [64]", "features.5.bias [64]",
            "classifier.1.weight [128, 1024]", "classifier.1.bias [128]",
            "classifier.4.weight [10, 128]", "classifier.4.bias [10]",
        ])
        XCTAssertEqual(layout(model.buffers), [
            "features.1.running_mean [32]", "features.1.running_var [32]", "features.1.num_batches_tracked []",
            "features.5.running_mean [64]", "features.5.running_var [64]", "features.5.num_batches_tracked []",
        ])
        XCTAssertEqual(model.inputShape, [1, 16, 16])
        XCTAssertEqual(model.headParameterNames, ["classifier.4.weight", "classifier.4.bias"])
    }

    func testCcexamSVHNNamesAndShapes() {
        let model = ModelZoo.ccexamSVHN(seed: 0)
        var expected: [String] = []
        var expectedBuffers: [String] = []
        for (block, (input, width)) in [(3, 32), (32, 64), (64, 128)].enumerated() {
            let p = "features.\(block)"
            expected += [
                "\(p).0.weight [\(width), \(input), 3, 3]", "\(p).0.bias [\(width)]",
                "\(p).1.weight [\(width)]", "\(p).1.bias [\(width)]",
                "\(p).3.weight [\(width), \(width), 3, 3]", "\(p).3.bias [\(width)]",
                "\(p).4.weight [\(width)]", "\(p).4.bias [\(width)]",
            ]
            for bn in ["1", "4"] {
                expectedBuffers += ["\(p).\(bn).running_mean [\(width)]", "\(p).\(bn).running_var [\(width)]",
                                    "\(p).\(bn).num_batches_tracked []"]
            }
        }
        expected += ["classifier.1.weight [256, 2048]", "classifier.1.bias [256]",
                     "classifier.4.weight [10, 256]", "classifier.4.bias [10]"]
        XCTAssertEqual(layout(model.parameters), expected)
        XCTAssertEqual(layout(model.buffers), expectedBuffers)
        XCTAssertEqual(model.inputShape, [3, 32, 32])
    }

    func testResNetUsesTorchvisionNames() {
        let model = ModelZoo.resnet(inputShape: [3, 32, 32], blocksPerStage: [2, 1], baseWidth: 8, classCount: 7, seed: 0)
        let names = model.parameters.entries.map(\.name)
        XCTAssertEqual(Array(names.prefix(3)), ["conv1.weight", "bn1.weight", "bn1.bias"])
        for name in ["layer1.0.conv1.weight", "layer1.0.bn2.bias", "layer1.1.conv2.weight",
                     "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight", "fc.weight", "fc.bias"] {
            XCTAssertNotNil(model.parameters.entry(named: name), name)
        }
        XCTAssertNil(model.parameters.entry(named: "layer1.0.downsample.0.weight"), "no projection without a shape change")
        XCTAssertNil(model.parameters.entry(named: "conv1.bias"), "ResNet convolutions have no bias")
        XCTAssertEqual(model.parameters.entry(named: "layer2.0.conv1.weight")?.shape, [16, 8, 3, 3])
        XCTAssertEqual(model.parameters.entry(named: "fc.weight")?.shape, [7, 16])
        XCTAssertNotNil(model.buffers.entry(named: "layer2.0.downsample.1.running_var"))
        let logits = model.forward(TestData.uniform(shape: [2, 3, 32, 32], in: -1, 1, seed: 1), training: false)
        XCTAssertEqual(logits.shape, [2, 7])
    }

    func testEveryNamedArchitectureRunsForwardAndBackward() throws {
        for name in ModelZoo.architectureNames {
            // The torchvision ResNets at their smallest input keep this test quick; 224×224 is checked below.
            let sized = ModelZoo.torchvisionBlocksPerStage[name] == nil ? name : name + "@32"
            let model = try ModelZoo.make(named: sized, classCount: 10, seed: 1)
            let x = TestData.uniform(shape: [2] + model.inputShape, in: -1, 1, seed: 2)
            let loss = SoftmaxCrossEntropy()
            let logits = model.forward(x, training: true)
            XCTAssertEqual(logits.shape, [2, 10], name)
            XCTAssertTrue(loss.loss(logits: logits, labels: [1, 2]).isFinite, name)
            model.parameters.zeroGradients()
            let inputGradient = model.backward(loss.gradient())
            XCTAssertEqual(inputGradient.shape, x.shape, name)
            XCTAssertGreaterThan(model.parameters.gradients.reduce(0) { $0 + abs($1) }, 0, name)
        }
        XCTAssertThrowsError(try ModelZoo.make(named: "vgg", seed: 0)) { error in
            XCTAssertEqual(error as? ModelZoo.ZooError, .unknownArchitecture("vgg"))
        }
    }

    /// torchvision's `resnet18()` / `resnet34()`: parameter counts (11,689,512 and 21,797,672 with 1000
    /// classes), state_dict lengths (122 and 218 keys: parameters plus running_mean, running_var and
    /// num_batches_tracked of every BatchNorm), and the names and shapes torchvision gives its tensors.
    func testTorchvisionResNetNamesShapesAndCounts() throws {
        for (name, parameterCount, keyCount) in [("resnet18", 11_689_512, 122), ("resnet34", 21_797_672, 218)] {
            let model = try ModelZoo.make(named: name, classCount: 1000, seed: 0)
            XCTAssertEqual(model.name, name)
            XCTAssertEqual(model.inputShape, [3, 224, 224], name)
            XCTAssertEqual(model.parameterCount, parameterCount, name)
            XCTAssertEqual(model.parameters.entries.count + model.buffers.entries.count, keyCount, name)
            XCTAssertEqual(Array(layout(model.parameters).prefix(8)), [
                "conv1.weight [64, 3, 7, 7]", "bn1.weight [64]", "bn1.bias [64]", "layer1.0.conv1.weight [64, 64, 3, 3]",
                "layer1.0.bn1.weight [64]", "layer1.0.bn1.bias [64]", "layer1.0.conv2.weight [64, 64, 3, 3]", "layer1.0.bn2.weight [64]",
            ], name)
            XCTAssertEqual(Array(layout(model.parameters).suffix(5)), [
                "layer4.\(name == "resnet18" ? 1 : 2).conv2.weight [512, 512, 3, 3]",
                "layer4.\(name == "resnet18" ? 1 : 2).bn2.weight [512]", "layer4.\(name == "resnet18" ? 1 : 2).bn2.bias [512]",
                "fc.weight [1000, 512]", "fc.bias [1000]",
            ], name)
            XCTAssertEqual(Array(layout(model.buffers).prefix(3)), ["bn1.running_mean [64]", "bn1.running_var [64]", "bn1.num_batches_tracked []"])
            for stage in 2...4 {
                let width = 64 << (stage - 1)
                XCTAssertEqual(model.parameters.entry(named: "layer\(stage).0.downsample.0.weight")?.shape, [width, width / 2, 1, 1])
                XCTAssertEqual(model.parameters.entry(named: "layer\(stage).0.downsample.1.weight")?.shape, [width])
                XCTAssertNotNil(model.buffers.entry(named: "layer\(stage).0.downsample.1.num_batches_tracked"))
                XCTAssertNil(model.parameters.entry(named: "layer\(stage).1.downsample.0.weight"))
            }
            XCTAssertNil(model.parameters.entry(named: "layer1.0.downsample.0.weight"))
            XCTAssertEqual(model.headParameterNames, ["fc.weight", "fc.bias"])
        }
    }

    /// Any input size: `@side` in the name, or any (C, H, W) through `torchvisionResNet`.
    func testTorchvisionResNetTakesAnyInputSize() throws {
        let sized = try ModelZoo.make(named: "resnet34@112", classCount: 3, seed: 0)
        XCTAssertEqual(sized.name, "resnet34")
        XCTAssertEqual(sized.inputShape, [3, 112, 112])
        let model = try ModelZoo.torchvisionResNet("resnet18", inputShape: [3, 48, 72], classCount: 5, seed: 1)
        let logits = model.forward(TestData.uniform(shape: [2, 3, 48, 72], in: -1, 1, seed: 2), training: true)
        XCTAssertEqual(logits.shape, [2, 5])
        XCTAssertTrue(logits.values.allSatisfy(\.isFinite))
        for bad in ["resnet18@16", "resnet18@x", "resnet18@"] {
            XCTAssertThrowsError(try ModelZoo.make(named: bad, seed: 0)) { XCTAssertEqual($0 as? ModelZoo.ZooError, .badInputSize(bad)) }
        }
        XCTAssertThrowsError(try ModelZoo.make(named: "resnet50@64", seed: 0)) {
            XCTAssertEqual($0 as? ModelZoo.ZooError, .unknownArchitecture("resnet50@64"))
        }
    }

    func testClassCountSizesTheHead() {
        let model = ModelZoo.ccexamMNIST(classCount: 4, seed: 0)
        XCTAssertEqual(model.parameters.entry(named: "classifier.2.weight")?.shape, [4, 128])
        XCTAssertEqual(model.classCount, 4)
    }
}
