import Foundation
import LearnedOptimizer
import Network
import TestSupport
import Training
import XCTest

/// The learned optimizer committed in jobs/learned/ stays loadable for the backbone it was meta-trained on,
/// and is the meta-trained rule its README describes (not the initial φ): a schedule that starts above λ0 and
/// decays, with per-layer step sizes.
final class ShippedLearnedOptimizerTests: XCTestCase {
    func testShippedFileLoadsForItsBackboneAndIsNotTheInitialRule() throws {
        let path = MPIRun.repositoryRoot.appendingPathComponent("jobs/learned/l3rs-ccexam-fmnist.safetensors").path
        let model = try ModelZoo.make(named: "ccexam-mnist", classCount: 10, seed: 0)
        let optimizer = try LearnedOptimizerFile.load(path, layers: LayerSlices.make(for: model),
                                                      parameterCount: model.parameterCount)
        XCTAssertEqual(optimizer.configuration.baseLearningRate, 0.003)
        XCTAssertEqual(optimizer.configuration.baseOptimizers, [.sgd, .momentum, .adam])
        XCTAssertEqual(optimizer.configuration.featureSet, .v1, "written before feature sets: it reads as v1")
        let initial = MetaParameters(initialFor: optimizer.configuration, layerCount: optimizer.layers.count)
        XCTAssertNotEqual(optimizer.metaParameters.values, initial.values)
    }

    /// `--optimizer l3rs` without a file means the shipped one, found from this clone; `none` the untrained
    /// rule; a named file itself; other optimizers keep their value.
    func testTheShippedFileIsTheDefaultAndNoneIsTheUntrainedRule() throws {
        let shipped = MPIRun.repositoryRoot.appendingPathComponent(ShippedLearnedOptimizer.relativePath).standardizedFileURL.path
        XCTAssertEqual(try ShippedLearnedOptimizer.resolve(weights: "", optimizer: .l3rs, environment: [:]), shipped)
        XCTAssertEqual(try ShippedLearnedOptimizer.resolve(weights: "none", optimizer: .l3rs, environment: [:]), "")
        XCTAssertEqual(try ShippedLearnedOptimizer.resolve(weights: "/x/l.safetensors", optimizer: .l3rs, environment: [:]),
                       "/x/l.safetensors")
        XCTAssertEqual(try ShippedLearnedOptimizer.resolve(weights: "", optimizer: .adam, environment: [:]), "")
        // The environment variable takes precedence.
        let environment = [ShippedLearnedOptimizer.environmentVariable: shipped]
        XCTAssertEqual(ShippedLearnedOptimizer.candidates(environment: environment, executablePath: nil), [shipped])
        // An executable in a clone's .build/release finds the clone's file.
        let executable = MPIRun.repositoryRoot.appendingPathComponent(".build/release/l3rs").path
        XCTAssertTrue(ShippedLearnedOptimizer.candidates(environment: [:], executablePath: executable).contains(shipped))
    }

    /// A missing shipped file is an error that names every place looked and how to go on.
    func testAMissingShippedFileNamesWhereItLooked() {
        let environment = [ShippedLearnedOptimizer.environmentVariable: "/nonexistent/l3rs.safetensors"]
        XCTAssertThrowsError(try ShippedLearnedOptimizer.resolve(weights: "", optimizer: .l3rs, environment: environment)) {
            let text = String(describing: $0)
            for part in ["/nonexistent/l3rs.safetensors", ShippedLearnedOptimizer.environmentVariable, "--l3rs-weights none"] {
                XCTAssertTrue(text.contains(part), text)
            }
        }
    }
}
