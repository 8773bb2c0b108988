import Checkpoints
import Distributed
import Foundation
import LearnedOptimizer
import Network
import Training
import TrainingFixtures
import XCTest

/// `finetune --optimizer l3rs --l3rs-weights FILE`: a file meta-trained with layer embeddings applies only to
/// its own layer table; the embedding-free variant applies to another backbone, and the run logs λ and μ
/// per layer per step and resumes with its L3RS state.
final class LearnedOptimizerFinetuneTests: XCTestCase {
    /// A learned-optimizer file made for ccexam-mnist's layer table.
    private func fileForCCExam(variant: L3RSVariant, in folder: URL) throws -> String {
        try SavedLearnedOptimizer(L3RSConfiguration(variant: variant), model: "ccexam-mnist", in: folder,
                                  fileName: "\(variant.rawValue).safetensors").path
    }

    private func mlpOnDigits(_ folder: URL, name: String, weights: String, steps: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration.mlpOnDigits(in: folder, name: name, optimizer: .l3rs, steps: steps,
                                                  dataDirectory: TestPaths.data)
        c.l3rsWeights = weights
        return c
    }

    func testAFileForAnotherLayerTableIsAClearError() throws {
        let folder = try temporaryFolder()
        let file = try fileForCCExam(variant: .layerEmbedding, in: folder)
        let run = TrainingRun(configuration: mlpOnDigits(folder, name: "wrong", weights: file, steps: 2),
                              communicator: SingleProcessCommunicator(), resume: false, log: { _ in })
        XCTAssertThrowsError(try run.execute()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("another layer table"), text)
            XCTAssertTrue(text.contains("features.0.weight") && text.contains("layers.1.weight"), text)
            XCTAssertTrue(text.contains("kindAndDepth"), text)
        }
    }

    /// A file records its feature set; one whose φ does not have that set's inputs (here: a v2 φ whose
    /// configuration was rewritten to v1) is refused naming the file, and a v2 file loads as v2.
    func testAFeatureSetMismatchIsAClearErrorNamingTheFile() throws {
        let folder = try temporaryFolder()
        let saved = try SavedLearnedOptimizer(L3RSConfiguration(featureSet: .v2), model: "ccexam-mnist", in: folder,
                                              fileName: "v2.safetensors")
        let (layers, parameterCount) = (saved.layers, saved.parameterCount)
        XCTAssertEqual(try LearnedOptimizerFile.load(saved.path, layers: layers, parameterCount: parameterCount)
            .configuration.featureSet, .v2)
        let file = try Safetensors.read(saved.path)
        /// A copy of the v2 file whose recorded configuration names `featureSet` instead.
        func relabelled(_ featureSet: String, as name: String) throws -> String {
            var metadata = file.metadata
            metadata[LearnedOptimizerFile.configurationKey] = metadata[LearnedOptimizerFile.configurationKey]!
                .replacingOccurrences(of: "\"featureSet\":\"v2\"", with: "\"featureSet\":\"\(featureSet)\"")
            let path = folder.appendingPathComponent(name).path
            try Safetensors.write(TensorFile(tensors: file.tensors, metadata: metadata), to: path, checksums: true)
            return path
        }
        let mismatched = try relabelled("v1", as: "mismatched.safetensors")
        XCTAssertThrowsError(try LearnedOptimizerFile.load(mismatched, layers: layers, parameterCount: parameterCount)) {
            let text = String(describing: $0)
            XCTAssertTrue(text.contains(mismatched) && text.contains("feature set v1") && text.contains("38"), text)
        }
        let unknown = try relabelled("v9", as: "unknown.safetensors")
        XCTAssertThrowsError(try LearnedOptimizerFile.load(unknown, layers: layers, parameterCount: parameterCount)) {
            let text = String(describing: $0)
            XCTAssertTrue(text.contains(unknown) && text.contains("v9"), text)
        }
    }

    func testTheEmbeddingFreeVariantRunsOnAnotherBackboneAndResumes() throws {
        let folder = try temporaryFolder()
        let file = try fileForCCExam(variant: .kindAndDepth, in: folder)
        let whole = try TrainingRun(configuration: mlpOnDigits(folder, name: "whole", weights: file, steps: 4),
                                    communicator: SingleProcessCommunicator(), resume: false, log: { _ in }).execute()
        guard case let .finished(summary) = whole else { return XCTFail("\(whole)") }
        XCTAssertEqual(summary.steps, 4)
        let log = try String(contentsOf: folder.appendingPathComponent("whole/l3rs.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(log.count, 4)
        XCTAssertTrue(log[0].contains("\"lambda/layers.5.bias\"") && log[0].contains("\"mu/layers.1.weight/momentum\""))

        // Stopped after step 2's checkpoint, then resumed: the L3RS state (moments, EMAs, step) comes back.
        let first = try TrainingRun(configuration: mlpOnDigits(folder, name: "split", weights: file, steps: 2),
                                    communicator: SingleProcessCommunicator(), resume: false, log: { _ in }).execute()
        guard case .finished = first else { return XCTFail("\(first)") }
        let resumed = try TrainingRun(configuration: mlpOnDigits(folder, name: "split", weights: file, steps: 4),
                                      communicator: SingleProcessCommunicator(), resume: true, log: { _ in }).execute()
        guard case let .finished(resumedSummary) = resumed else { return XCTFail("\(resumed)") }
        XCTAssertEqual(resumedSummary.parameterHash, summary.parameterHash)
    }
}
