import Foundation
import Seeding
import XCTest
@testable import Network

/// `resnet18` against torchvision's ResNet-18 in float64 (tools/resnet_reference.py: the committed fixture was
/// written by torchvision 0.14 / torch 1.13 from Debian; without torch the script's own numpy net, which
/// agrees with torchvision to 1e-14 and is checked against finite differences). The fixture stores only outputs: both sides regenerate the weights and the input from the
/// formula below, so the committed file stays a few KB. Bounds: logits and loss within 1e-4 absolute, every
/// parameter's gradient norm within 1e-3 relative, gradient and input-gradient values within 1e-4 of the
/// largest value in their slice, running statistics within 1e-5.
final class TorchvisionReferenceTests: XCTestCase {
    private struct Fixture: Decodable {
        let backend: String
        let classes: Int
        let input_shape: [Int]
        let labels: [Int]
        let input_seed: UInt64
        let eval_logits: [Double]
        let train_logits: [Double]
        let train_loss: Double
        let gradient_norms: [String: Double]
        let gradient_slices: [String: [Double]]
        let input_gradient_slice: [Double]
        let buffers_after_training_forward: [String: [Double]]
    }

    private static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    private static let repositoryRoot = testsFolder.deletingLastPathComponent().deletingLastPathComponent()

    private static func fixture(at url: URL = testsFolder.appendingPathComponent("Fixtures/resnet18_reference.json")) throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// A python that imports torch (the bench venv's, Debian's with python3-torch, or python3 on the PATH), if
    /// any, as a command prefix.
    private static func torchPython() -> [String]? {
        let venv = repositoryRoot.appendingPathComponent(".build/bench/torch-venv/bin/python").path
        for command in [[venv], ["/usr/bin/python3"], ["/usr/bin/env", "python3"]] where FileManager.default.isExecutableFile(atPath: command[0]) {
            if (try? run(command, ["-c", "import torch"])) == 0 { return command }
        }
        return nil
    }

    private static func run(_ command: [String], _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + arguments
        process.currentDirectoryURL = repositoryRoot
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// FNV-1a of the tensor's name seeds its SplitMix64 stream (the script's `fnv1a`).
    private static func nameHash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    /// The script's `formula`: float64 arithmetic on exact k/2^24 draws, rounded once to Float.
    static func fill(_ store: ParameterStore) {
        for entry in store.entries {
            var generator = SplitMix64(seed: nameHash(entry.name))
            let values = store.values(of: entry)
            for i in 0..<entry.count {
                let u = entry.kind == .batchCount ? 0 : Double(generator.nextUnitFloat())
                let value: Double
                switch entry.kind {
                case .convWeight, .linearWeight: value = (2 * u - 1) * (3.0 / Double(entry.fanIn)).squareRoot()
                case .bias: value = (2 * u - 1) * 0.1
                case .normScale, .runningVariance: value = 0.5 + u
                case .normShift, .runningMean: value = (2 * u - 1) * 0.2
                case .batchCount: value = 0
                }
                values[i] = Float(value)
            }
        }
    }

    private func maxDifference(_ actual: [Float], _ expected: [Double]) -> Double {
        XCTAssertEqual(actual.count, expected.count)
        return zip(actual, expected).map { abs(Double($0) - $1) }.max() ?? 0
    }

    func testResNet18MatchesTheReferenceForwardAndBackward() throws {
        try compare(with: try Self.fixture())
        // Where torch is installed, against torch itself as well (written afresh, not committed).
        if let python = Self.torchPython() {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("resnet18-torch-\(getpid()).json")
            defer { try? FileManager.default.removeItem(at: out) }
            XCTAssertEqual(try Self.run(python, ["tools/resnet_reference.py", "--backend", "torch", "--out", out.path]), 0)
            let fixture = try Self.fixture(at: out)
            XCTAssertTrue(fixture.backend.hasPrefix("torch"), fixture.backend)
            try compare(with: fixture)
        } else {
            print("torch is not importable here: compared with the committed fixture only")
        }
    }

    private func compare(with fixture: Fixture) throws {
        let model = try ModelZoo.torchvisionResNet("resnet18", inputShape: Array(fixture.input_shape.dropFirst()),
                                                   classCount: fixture.classes, seed: 0)
        Self.fill(model.parameters)
        Self.fill(model.buffers)
        var generator = SplitMix64(seed: fixture.input_seed)
        let input = Tensor(shape: fixture.input_shape)
        for i in 0..<input.count { input[i] = Float(2 * Double(generator.nextUnitFloat()) - 1) }

        let evalDifference = maxDifference(model.forward(input, training: false).values, fixture.eval_logits)
        let logits = model.forward(input, training: true)
        let trainDifference = maxDifference(logits.values, fixture.train_logits)
        let loss = SoftmaxCrossEntropy()
        let lossValue = Double(loss.loss(logits: logits, labels: fixture.labels))
        model.parameters.zeroGradients()
        let inputGradient = model.backward(loss.gradient())

        var worstNorm = 0.0
        for entry in model.parameters.entries {
            guard let expected = fixture.gradient_norms[entry.name] else { XCTFail("\(entry.name) not in the fixture"); continue }
            let norm = model.parameters.gradients(of: entry).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let relative = abs(norm - expected) / max(expected, 1e-12)
            worstNorm = max(worstNorm, relative)
            XCTAssertLessThanOrEqual(relative, 1e-3, "\(entry.name): gradient norm \(norm), reference \(expected)")
        }
        XCTAssertEqual(fixture.gradient_norms.count, model.parameters.entries.count)
        var worstSlice = 0.0
        for (name, expected) in fixture.gradient_slices.sorted(by: { $0.key < $1.key }) {
            let entry = try XCTUnwrap(model.parameters.entry(named: name), name)
            let scale = expected.map(abs).max() ?? 1
            let difference = maxDifference(Array(model.parameters.gradients(of: entry).prefix(expected.count)), expected) / max(scale, 1e-12)
            worstSlice = max(worstSlice, difference)
            XCTAssertLessThanOrEqual(difference, 1e-4, "\(name): gradient values")
        }
        let inputScale = fixture.input_gradient_slice.map(abs).max() ?? 1
        let inputDifference = maxDifference(Array(inputGradient.values.prefix(fixture.input_gradient_slice.count)),
                                            fixture.input_gradient_slice) / inputScale
        var bufferDifference = 0.0
        for (name, expected) in fixture.buffers_after_training_forward {
            let entry = try XCTUnwrap(model.buffers.entry(named: name), name)
            bufferDifference = max(bufferDifference, maxDifference(Array(model.buffers.values(of: entry).prefix(expected.count)), expected))
        }
        print("resnet18 vs \(fixture.backend) reference: eval logits \(evalDifference), train logits \(trainDifference), loss \(abs(lossValue - fixture.train_loss)), gradient norms (relative) \(worstNorm), gradient values (relative to slice max) \(worstSlice), input gradient \(inputDifference), running statistics \(bufferDifference)")
        XCTAssertLessThanOrEqual(evalDifference, 1e-4, "evaluation-mode logits")
        XCTAssertLessThanOrEqual(trainDifference, 1e-4, "training-mode logits")
        XCTAssertEqual(lossValue, fixture.train_loss, accuracy: 1e-4)
        XCTAssertLessThanOrEqual(inputDifference, 1e-4, "input gradient")
        XCTAssertLessThanOrEqual(bufferDifference, 1e-5, "running statistics after one training forward")
        let counter = try XCTUnwrap(model.buffers.entry(named: "layer4.1.bn2.num_batches_tracked"))
        XCTAssertEqual(model.buffers.values(of: counter)[0], 1)
    }
}
