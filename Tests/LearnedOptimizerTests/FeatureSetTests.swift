import Foundation
import Optimizers
import XCTest
@testable import LearnedOptimizer

/// Feature set v2: its layout, the values it feeds the MLP against their definitions recomputed here from θ,
/// g and the state, and that configurations from before feature sets decode as v1.
final class FeatureSetTests: XCTestCase {
    func testLayoutOfFeatureSetV2() {
        let v2 = FeatureLayout(variant: .layerEmbedding, embeddingWidth: 8, featureSet: .v2, baseCount: 3)
        XCTAssertEqual(v2.count, 27 + 2 + 2 * 3 + 3)
        XCTAssertEqual(FeatureLayout(variant: .kindAndDepth, embeddingWidth: 8, horizonFeatures: true, featureSet: .v2,
                                     baseCount: 4).count, 25 + 2 + 2 + 2 * 4 + 3)
        XCTAssertEqual(v2.standardisedIndex(.parameterRMS), 19)
        XCTAssertEqual(v2.lossProgressIndex(decayIndex: 3), v2.identityStart - 1)
        // v1's layout is unchanged by the base count.
        XCTAssertEqual(FeatureLayout(variant: .layerEmbedding, embeddingWidth: 8, baseCount: 5).count, 27)
        XCTAssertEqual(MetaNetworkLayout(configuration: L3RSConfiguration(featureSet: .v2), layerCount: 2).inputCount, 38)
    }

    /// After a few steps, every v2 feature equals its definition (docs/method.md §3).
    func testFeatureValuesMatchTheirDefinitions() throws {
        let configuration = L3RSConfiguration(baseLearningRate: 0.05, variant: .kindAndDepth, featureSet: .v2)
        var optimizer = try L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        let problem = TinyRegressionProblem()
        var θ = TinyRegressionProblem.initialParameters()
        var state = optimizer.makeState()
        var g = [Float](repeating: 0, count: θ.count)
        var loss: Float = 0
        var momentum = [Float](repeating: 0, count: θ.count)
        for _ in 0..<5 {
            let k = state.step
            loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            for i in momentum.indices { momentum[i] = 0.9 * momentum[i] + g[i] }
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
        }
        let layout = optimizer.featureLayout
        let raw = optimizer.activations.rawFeatures
        let layers = TinyRegressionProblem.layers
        func rms(_ x: [Float], _ layer: LayerSlice) -> Double {
            (layer.range.reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) } / Double(layer.count)).squareRoot()
        }
        let k = 4
        // Bias correction: the γ = 0.9 loss EMA read divided by 1 − 0.9^5.
        XCTAssertEqual(Double(raw[layout.averageIndex(.trainingLoss, decayIndex: 1)]),
                       Double(state.lossAverages[1]) / (1 - pow(Double(Float(0.9)), Double(k + 1))), accuracy: 1e-6)
        // Loss progress â_0 − â_0.99.
        let current = Double(raw[layout.averageIndex(.trainingLoss, decayIndex: 0)])
        let corrected = Double(state.lossAverages[2]) / (1 - pow(Double(Float(0.99)), Double(k + 1)))
        XCTAssertEqual(Double(raw[layout.lossProgressIndex(decayIndex: 2)]), current - corrected, accuracy: 1e-6)
        // Standardised log rms(g_l) over the layers sums to 0 (and has unit variance up to the floor).
        let scores = layers.indices.map { Double(raw[$0 * layout.count + layout.standardisedIndex(.gradientRMS)]) }
        XCTAssertEqual(scores.reduce(0, +), 0, accuracy: 1e-5)
        XCTAssertEqual(scores.reduce(0) { $0 + $1 * $1 } / Double(scores.count), 1, accuracy: 1e-3)
        for (l, layer) in layers.enumerated() {
            let row = l * layout.count
            // SGD's direction is g: cosine 1, direction RMS that of g.
            XCTAssertEqual(raw[row + layout.cosineIndex(0)], 1, accuracy: 1e-5)
            XCTAssertEqual(Double(raw[row + layout.directionScaleIndex(0)]), 0.1 * log(rms(g, layer) + 1e-12), accuracy: 1e-5)
            // Heavy ball's direction is its buffer m: cos(g, m) and 0.1·log rms(m).
            let dot = layer.range.reduce(0.0) { $0 + Double(g[$1]) * Double(momentum[$1]) }
            let cosine = dot / (Double(layer.count) * rms(g, layer) * rms(momentum, layer))
            XCTAssertEqual(Double(raw[row + layout.cosineIndex(1)]), cosine, accuracy: 1e-5)
            XCTAssertEqual(Double(raw[row + layout.directionScaleIndex(1)]), 0.1 * log(rms(momentum, layer) + 1e-12),
                           accuracy: 1e-5)
        }
        XCTAssertLessThan(raw[layout.cosineIndex(1)], 0.9999, "the cosine with momentum is not trivially 1")
    }

    func testConfigurationsWrittenBeforeFeatureSetsDecodeAsV1() throws {
        let json = try L3RSConfiguration(baseLearningRate: 0.01).encodedJSON()
        XCTAssertTrue(json.contains("\"featureSet\":\"v1\""), "a file records its feature set")
        let old = json.replacingOccurrences(of: "\"featureSet\":\"v1\",", with: "")
        XCTAssertFalse(old.contains("featureSet"))
        XCTAssertEqual(try L3RSConfiguration.decode(json: old).featureSet, .v1)
        XCTAssertEqual(try L3RSConfiguration.decode(json: try L3RSConfiguration(featureSet: .v2).encodedJSON()).featureSet, .v2)
    }

    /// v1 is untouched by v2's machinery: one step gives exactly the features of the v1 definitions (the EMAs
    /// read raw, no extra block).
    func testFeatureSetV1ReadsTheEMAsRaw() throws {
        var optimizer = try L3RSOptimizer(configuration: L3RSConfiguration(), layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        let problem = TinyRegressionProblem()
        var θ = TinyRegressionProblem.initialParameters()
        var state = optimizer.makeState()
        var g = [Float](repeating: 0, count: θ.count)
        for _ in 0..<3 {
            let k = state.step
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: k, gradient: $0) }
            }
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
        }
        let layout = optimizer.featureLayout
        XCTAssertEqual(layout.identityStart, 19)
        XCTAssertEqual(optimizer.activations.rawFeatures[layout.averageIndex(.trainingLoss, decayIndex: 2)],
                       state.lossAverages[2])
    }
}
