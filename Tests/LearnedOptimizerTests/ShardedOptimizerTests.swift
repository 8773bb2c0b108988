import Optimizers
import Seeding
import XCTest
@testable import LearnedOptimizer

/// Sharded optimizer state runs `L3RSOptimizer.restricted(toLayers:)` on each rank's run of layers: the shards'
/// steps together must be the whole optimizer's step, bit for bit, in both variants (the embedding variant
/// slices φ's embedding rows), with a φ whose every part, embeddings included, changes λ and μ.
final class ShardedOptimizerTests: XCTestCase {
    let layers = [
        LayerSlice(name: "a.weight", offset: 0, count: 5003, kind: .linearWeight, relativeDepth: 0),
        LayerSlice(name: "a.bias", offset: 5003, count: 3, kind: .bias, relativeDepth: 0),
        LayerSlice(name: "b.weight", offset: 5006, count: 4096, kind: .linearWeight, relativeDepth: 0.5),
        LayerSlice(name: "c.weight", offset: 9102, count: 2049, kind: .linearWeight, relativeDepth: 1),
    ]
    let parameterCount = 11_151

    func testShardsStepExactlyAsTheWholeOptimizer() throws {
        for variant in L3RSVariant.allCases {
            let configuration = L3RSConfiguration(baseOptimizers: [.sgd, .momentum, .adam], baseLearningRate: 1e-2,
                                                  variant: variant, initialPreferredLogit: 1, seed: 3)
            var whole = try L3RSOptimizer(configuration: configuration, layers: layers, parameterCount: parameterCount)
            var generator = SplitMix64(seed: 17)
            for index in whole.metaParameters.values.indices {
                whole.metaParameters.values[index] = generator.uniform(halfWidth: 0.5)
            }
            let cuts = [0..<2, 2..<4]
            var shards = try cuts.map { try whole.restricted(toLayers: $0) }
            var wholeState = whole.makeState()
            var shardStates = shards.map { $0.makeState() }
            XCTAssertEqual(shards.map(\.parameterCount), [5006, 6145])
            var θWhole = (0..<parameterCount).map { _ in generator.uniform(halfWidth: 1) }
            var θShards = θWhole
            for step in 0..<4 {
                let g = θWhole.map { 0.3 * $0 + generator.uniform(halfWidth: 0.1) }
                let loss = 2 - 0.3 * Float(step)
                whole.step(parameters: &θWhole, gradient: g, loss: loss, state: &wholeState)
                var sizes: [Float] = []
                for (s, cut) in cuts.enumerated() {
                    let elements = layers[cut.lowerBound].offset..<(layers[cut.upperBound - 1].range.upperBound)
                    var θ = Array(θShards[elements])
                    shards[s].step(parameters: &θ, gradient: Array(g[elements]), loss: loss, state: &shardStates[s])
                    θShards.replaceSubrange(elements, with: θ)
                    sizes += shards[s].lastStepSizes
                    XCTAssertEqual(shardStates[s].baseStates[2].secondMoment, Array(wholeState.baseStates[2].secondMoment[elements]),
                                   "\(variant) step \(step) shard \(s): Adam's second moment")
                    XCTAssertEqual(shardStates[s].initialGradientRMS, Array(wholeState.initialGradientRMS[cut]))
                    XCTAssertEqual(shardStates[s].lossAverages, wholeState.lossAverages)
                }
                XCTAssertEqual(θShards, θWhole, "\(variant) step \(step): θ")
                XCTAssertEqual(sizes, whole.lastStepSizes, "\(variant) step \(step): λ")
            }
            XCTAssertEqual(Set(whole.lastStepSizes).count > 1, true, "\(variant): λ differs between layers, so φ matters")
        }
    }

    func testRestrictingToNoLayersOrBeyondTheTableIsAnError() throws {
        let whole = try L3RSOptimizer(configuration: L3RSConfiguration(), layers: layers, parameterCount: parameterCount)
        XCTAssertThrowsError(try whole.restricted(toLayers: 2..<2))
        XCTAssertThrowsError(try whole.restricted(toLayers: 3..<5))
    }
}
