import Optimizers
import XCTest
@testable import LearnedOptimizer

final class ConfigurationTests: XCTestCase {
    func testFeatureCounts() {
        XCTAssertEqual(FeatureLayout(variant: .layerEmbedding, embeddingWidth: 8).count, 27)
        XCTAssertEqual(FeatureLayout(variant: .kindAndDepth, embeddingWidth: 8).count, 25)
        XCTAssertEqual(FeatureLayout(variant: .layerEmbedding, embeddingWidth: 8, horizonFeatures: true).count, 29)
        let layout = MetaNetworkLayout(configuration: L3RSConfiguration(), layerCount: 10)
        XCTAssertEqual(layout.count, 32 * 27 + 32 + 32 * 32 + 32 + 4 * 32 + 4 + 10 * 8)
        XCTAssertEqual(layout.entries.map(\.name),
                       ["mlp.0.weight", "mlp.0.bias", "mlp.1.weight", "mlp.1.bias", "mlp.2.weight", "mlp.2.bias",
                        "embedding"])
        XCTAssertEqual(layout.entries.last?.shape, [10, 8])
    }

    /// Configuration through JSON and φ through named tensors give an optimizer that steps identically.
    func testSaveAndLoadRoundTrip() throws {
        let problem = TinyRegressionProblem()
        let original = MetaGradientFixtures.optimizer()
        let json = try original.configuration.encodedJSON()
        let configuration = try L3RSConfiguration.decode(json: json)
        XCTAssertEqual(configuration, original.configuration)
        XCTAssertEqual(configuration.layerNames, TinyRegressionProblem.layers.map(\.name))
        let φ = try MetaParameters(configuration: configuration, layerCount: TinyRegressionProblem.layers.count,
                                   tensors: original.metaParameters.tensors)
        let restored = try L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                         parameterCount: TinyRegressionProblem.parameterCount, metaParameters: φ)
        let a = MetaGradientFixtures.start(optimizer: original, problem: problem, warmUp: 4)
        let b = MetaGradientFixtures.start(optimizer: restored, problem: problem, warmUp: 4)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
    }

    func testMismatchedTensorsAreRejected() {
        let configuration = L3RSConfiguration()
        var tensors = MetaParameters(initialFor: configuration, layerCount: 3).tensors
        XCTAssertThrowsError(try MetaParameters(configuration: configuration, layerCount: 4, tensors: tensors))
        tensors.removeLast()
        XCTAssertThrowsError(try MetaParameters(configuration: configuration, layerCount: 3, tensors: tensors))
    }

    func testLayerTableValidation() {
        let overlapping = [
            LayerSlice(name: "a", offset: 0, count: 4, kind: .linearWeight, relativeDepth: 0),
            LayerSlice(name: "b", offset: 3, count: 2, kind: .bias, relativeDepth: 1),
        ]
        XCTAssertThrowsError(try L3RSOptimizer(configuration: L3RSConfiguration(), layers: overlapping,
                                               parameterCount: 5))
        XCTAssertThrowsError(try L3RSOptimizer(configuration: L3RSConfiguration(),
                                               layers: TinyRegressionProblem.layers, parameterCount: 10))
        // Embeddings belong to the layers they were trained on; the kind-and-depth variant applies anywhere.
        let trainedOn = ["x", "y", "z"]
        XCTAssertThrowsError(try L3RSOptimizer(
            configuration: L3RSConfiguration(layerNames: trainedOn), layers: TinyRegressionProblem.layers,
            parameterCount: TinyRegressionProblem.parameterCount))
        XCTAssertNoThrow(try L3RSOptimizer(
            configuration: L3RSConfiguration(variant: .kindAndDepth, layerNames: trainedOn),
            layers: TinyRegressionProblem.layers, parameterCount: TinyRegressionProblem.parameterCount))
    }
}
