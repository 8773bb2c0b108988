import Optimizers
import Seeding
import XCTest
@testable import LearnedOptimizer

/// The fine-tuning `step` (two fused passes, not all P directions in memory) must take exactly the step of
/// meta-training's `prepareStep` + `applyUpdate`, which stores the directions for the reverse pass: same θ,
/// same state, same λ and μ, bit for bit.
final class FusedStepTests: XCTestCase {
    /// Layers longer than a chunk, not multiples of 8, and tiny ones; one gap between layers.
    let layers = [
        LayerSlice(name: "a.weight", offset: 0, count: 5003, kind: .linearWeight, relativeDepth: 0),
        LayerSlice(name: "a.bias", offset: 5003, count: 3, kind: .bias, relativeDepth: 0),
        LayerSlice(name: "b.weight", offset: 5006, count: 4096, kind: .linearWeight, relativeDepth: 0.5),
        LayerSlice(name: "c.weight", offset: 9110, count: 2049, kind: .linearWeight, relativeDepth: 1),
    ]
    let parameterCount = 11_159

    func testFusedStepIsBitIdenticalToRecordedStep() throws {
        let baseSets: [[OptimizerKind]] = [
            [.sgd, .momentum, .adam], [.adam], [.nesterov, .rmsprop], [.momentum, .nesterov, .lion, .adamw, .sgd],
        ]
        let cases = baseSets.flatMap { b in
            L3RSFeatureSet.allCases.flatMap { f in L3RSDirectionScale.allCases.map { (b, f, $0) } }
        }.filter { bases, _, scale in scale == .unit || bases.contains(.adam) || bases.contains(.adamw) }
        for (bases, featureSet, directionScale) in cases {
            let configuration = L3RSConfiguration(baseOptimizers: bases, baseLearningRate: 1e-2,
                                                  initialPreferredLogit: 1, seed: 3, featureSet: featureSet,
                                                  directionScale: directionScale)
            var fused = try L3RSOptimizer(configuration: configuration, layers: layers, parameterCount: parameterCount)
            var recorded = fused
            var fusedState = fused.makeState(), recordedState = recorded.makeState()
            var generator = SplitMix64(seed: 11)
            var θFused = (0..<parameterCount).map { _ in generator.uniform(halfWidth: 1) }
            var θRecorded = θFused
            for step in 0..<4 {
                let g = θFused.map { 0.3 * $0 + generator.uniform(halfWidth: 0.1) }
                let loss = 2 - 0.3 * Float(step)
                fused.step(parameters: &θFused, gradient: g, loss: loss, state: &fusedState)
                θRecorded.withUnsafeMutableBufferPointer { θ in
                    g.withUnsafeBufferPointer { gradient in
                        recorded.prepareStep(parameters: UnsafeBufferPointer(θ), gradient: gradient, loss: loss,
                                             state: &recordedState)
                        recorded.applyUpdate(to: θ)
                    }
                }
                XCTAssertEqual(θFused, θRecorded, "\(bases) step \(step): θ")
                XCTAssertEqual(fusedState, recordedState, "\(bases) step \(step): state")
                XCTAssertEqual(fused.lastStepSizes, recorded.lastStepSizes, "\(bases) step \(step): λ")
                XCTAssertEqual(fused.lastMixingWeights, recorded.lastMixingWeights, "\(bases) step \(step): μ")
                XCTAssertEqual(fused.activations.directionRMS, recorded.activations.directionRMS)
                XCTAssertEqual(fused.activations.features, recorded.activations.features, "\(bases) \(featureSet): features")
                XCTAssertTrue(fused.activations.directions.isEmpty, "the fused step keeps no P·n directions")
            }
            XCTAssertNotEqual(θFused[0], 0, "the step moved θ")
        }
    }

    /// The reverse pass reads d and s with s·d = d / (rms + 1e-12) of unit RMS, to a rounding, and the
    /// mixing weights w = μ·s.
    func testRecordedDirectionsAreNormalisedToUnitRMS() throws {
        let configuration = L3RSConfiguration(baseOptimizers: [.sgd, .momentum, .adam], initialPreferredLogit: 1)
        var optimizer = try L3RSOptimizer(configuration: configuration, layers: layers, parameterCount: parameterCount)
        var state = optimizer.makeState()
        var generator = SplitMix64(seed: 5)
        let θ = (0..<parameterCount).map { _ in generator.uniform(halfWidth: 1) }
        let g = θ.map { _ in generator.uniform(halfWidth: 1e-3) }
        θ.withUnsafeBufferPointer { θ in
            g.withUnsafeBufferPointer { g in
                optimizer.prepareStep(parameters: θ, gradient: g, loss: 1, state: &state)
            }
        }
        let d = optimizer.activations.directions
        for p in 0..<3 {
            for (l, layer) in layers.enumerated() {
                let s = Double(optimizer.activations.directionScales[l * 3 + p])
                let squares = layer.range.reduce(0.0) { $0 + pow(s * Double(d[p * parameterCount + $1]), 2) }
                XCTAssertEqual((squares / Double(layer.count)).squareRoot(), 1, accuracy: 1e-5, "base \(p) \(layer.name)")
                XCTAssertEqual(optimizer.activations.directionWeights[l * 3 + p],
                               optimizer.activations.mixingWeights[l * 3 + p] * Float(s), "w = μ·s")
            }
        }
    }

    /// Sharded optimizer state runs `restricted(toLayers:)` on each rank's run of layers: the shards' steps
    /// together must be the whole optimizer's step, bit for bit, in both variants (the embedding variant slices
    /// φ's embedding rows), with a φ whose every part, embeddings included, changes λ and μ.
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
            XCTAssertEqual(shards.map(\.parameterCount), [5006, 6153], "the second shard keeps the gap before c")
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

/// `advance` over ranges is the whole-buffer `direction`, bit for bit; `rebuildDirection` returns what
/// `advance` wrote, and a direction said to be g or the first moment is exactly that.
final class RangedAdvanceTests: XCTestCase {
    func testRangedAdvanceAndRebuildMatchTheWholeBufferStep() {
        let count = 1037
        var generator = SplitMix64(seed: 9)
        for kind in OptimizerKind.allCases {
            let rule = kind.makeRule()
            var whole = rule.makeState(count: count), ranged = whole
            for step in 0..<3 {
                let g = (0..<count).map { _ in generator.uniform(halfWidth: 1) }
                let expected = rule.direction(gradient: g, state: &whole)
                var direction = [Float](repeating: .nan, count: count)
                g.withUnsafeBufferPointer { g in
                    direction.withUnsafeMutableBufferPointer { d in
                        for range in [0..<5, 5..<5, 5..<800, 800..<count] {
                            rule.advance(range, gradient: g, state: &ranged, into: d.baseAddress! + range.lowerBound)
                        }
                    }
                }
                ranged.step += 1
                XCTAssertEqual(direction, expected, "\(kind) step \(step)")
                XCTAssertEqual(ranged, whole, "\(kind) step \(step): state")
                switch rule.directionSource {
                case .computed: continue
                case .gradient: XCTAssertEqual(expected, g, "\(kind): the direction is g")
                case .firstMoment: XCTAssertEqual(expected, ranged.firstMoment, "\(kind): the direction is m")
                case .rebuilt: break
                }
                var rebuilt = [Float](repeating: .nan, count: count)
                g.withUnsafeBufferPointer { g in
                    rebuilt.withUnsafeMutableBufferPointer { d in
                        rule.rebuildDirection(3..<count, gradient: g, state: ranged, into: d.baseAddress! + 3)
                        rule.rebuildDirection(0..<3, gradient: g, state: ranged, into: d.baseAddress!)
                    }
                }
                XCTAssertEqual(rebuilt, expected, "\(kind) step \(step): rebuilt")
            }
        }
        XCTAssertEqual(OptimizerKind.allCases.map { $0.makeRule().directionSource },
                       [.gradient, .firstMoment, .rebuilt, .computed, .computed, .computed, .computed])
    }
}
