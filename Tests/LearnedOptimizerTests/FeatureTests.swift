import XCTest
@testable import LearnedOptimizer

final class FeatureTests: XCTestCase {
    /// A NaN loss makes the loss features non-finite: they are replaced by 0 and counted, and θ stays finite.
    func testNonFiniteFeaturesAreZeroedAndCounted() throws {
        var optimizer = try L3RSOptimizer(configuration: L3RSConfiguration(), layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        var state = optimizer.makeState()
        var θ = TinyRegressionProblem.initialParameters()
        let g = [Float](repeating: 0.1, count: θ.count)
        optimizer.step(parameters: &θ, gradient: g, loss: 1, state: &state)
        XCTAssertEqual(optimizer.lastNonFiniteFeatureCount, 0)
        optimizer.step(parameters: &θ, gradient: g, loss: .nan, state: &state)
        // Four loss EMAs per layer.
        XCTAssertEqual(optimizer.lastNonFiniteFeatureCount, 4 * TinyRegressionProblem.layers.count)
        XCTAssertEqual(state.nonFiniteFeatureCount, 4 * TinyRegressionProblem.layers.count)
        XCTAssertTrue(θ.allSatisfy(\.isFinite))
        XCTAssertTrue(optimizer.activations.features.allSatisfy(\.isFinite))
    }

    /// Layers that start at exactly zero (biases) give finite, clipped features; every feature is in
    /// [−10, 10]; the time features are tanh(k/τ).
    func testFeaturesAreBoundedAndTimed() throws {
        var optimizer = try L3RSOptimizer(configuration: L3RSConfiguration(baseLearningRate: 0.1),
                                          layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        var state = optimizer.makeState()
        var θ = TinyRegressionProblem.initialParameters()
        for i in TinyRegressionProblem.layers[2].range { θ[i] = 0 }
        let problem = TinyRegressionProblem()
        var g = [Float](repeating: 0, count: θ.count)
        let layout = optimizer.featureLayout
        for k in 0..<5 {
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
            let features = optimizer.activations.features
            XCTAssertTrue(features.allSatisfy { $0.isFinite && abs($0) <= 10 })
            XCTAssertEqual(optimizer.lastNonFiniteFeatureCount, 0)
            XCTAssertEqual(features[layout.timeIndex(0)], Float(tanh(Double(k) / 10)), accuracy: 1e-7)
            if k == 0 {
                XCTAssertTrue((0..<4).allSatisfy { features[layout.averageIndex(.parameterRMS, decayIndex: $0)] == 0 })
            }
        }
        // The bias layer grew from 0: its current relative log-rms is clipped at the bound.
        let biasRow = 2 * layout.count
        XCTAssertEqual(optimizer.activations.features[biasRow + layout.averageIndex(.parameterRMS, decayIndex: 0)], 10)
    }
}
