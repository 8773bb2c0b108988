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
        let initial = MetaParameters(initialFor: optimizer.configuration, layerCount: optimizer.layers.count)
        XCTAssertNotEqual(optimizer.metaParameters.values, initial.values)
    }
}
