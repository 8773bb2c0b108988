import Optimizers
import XCTest
@testable import LearnedOptimizer

/// The optional horizon features: the MLP reads the progress k/H and 0.1·log H of the run it is in, the
/// run's horizon travels in the state and its checkpoint, and files from before the option decode without it.
final class HorizonFeatureTests: XCTestCase {
    func testProgressAndHorizonScaleAreFeaturesOfEveryLayer() throws {
        let configuration = L3RSConfiguration(baseLearningRate: 0.01, horizonFeatures: true)
        var optimizer = try L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        let layout = optimizer.featureLayout
        XCTAssertEqual(optimizer.metaParameters.layout.inputCount, layout.count)
        let problem = TinyRegressionProblem()
        var θ = TinyRegressionProblem.initialParameters()
        var state = optimizer.makeState()
        state.horizon = 40
        MetaGradientFixtures.train(&optimizer, problem: problem, parameters: &θ, state: &state, steps: 11)
        // The 11th step (k = 10) read progress 10/40.
        let features = optimizer.activations.features
        for l in TinyRegressionProblem.layers.indices {
            let row = l * layout.count
            XCTAssertEqual(features[row + layout.progressIndex], 0.25, accuracy: 1e-7)
            XCTAssertEqual(features[row + layout.progressIndex + 1], Float(0.1 * log(40.0)), accuracy: 1e-6)
        }
        let restored = try L3RSState(checkpointTensors: state.checkpointTensors, metadata: state.checkpointMetadata,
                                     template: optimizer.makeState())
        XCTAssertEqual(restored.horizon, 40)
        XCTAssertEqual(restored, state)
    }

    func testConfigurationsWrittenBeforeTheOptionDecodeWithoutIt() throws {
        let json = try L3RSConfiguration(baseLearningRate: 0.01).encodedJSON()
            .replacingOccurrences(of: ",\"horizonFeatures\":false", with: "")
        XCTAssertFalse(json.contains("horizonFeatures"))
        XCTAssertFalse(try L3RSConfiguration.decode(json: json).horizonFeatures)
        let with = try L3RSConfiguration(baseLearningRate: 0.01, horizonFeatures: true).encodedJSON()
        XCTAssertTrue(try L3RSConfiguration.decode(json: with).horizonFeatures)
    }
}
