import Foundation
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

    /// θ at the start: uniform in [−1, 1].
    private func initialParameters(_ generator: inout SplitMix64) -> [Float] {
        (0..<parameterCount).map { _ in generator.uniform(halfWidth: 1) }
    }

    /// A gradient that pulls θ towards 0 with noise, and a falling loss, for step `step`.
    private func stepInputs(_ θ: [Float], step: Int, _ generator: inout SplitMix64) -> (gradient: [Float], loss: Float) {
        (θ.map { 0.3 * $0 + generator.uniform(halfWidth: 0.1) }, 2 - 0.3 * Float(step))
    }

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
            var θFused = initialParameters(&generator)
            var θRecorded = θFused
            for step in 0..<4 {
                let (g, loss) = stepInputs(θFused, step: step, &generator)
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

    /// Sharded optimizer state runs `restricted(toElements:)` on each rank's elements, cut inside layers at
    /// multiples of the chunk length (`ParameterShards`): the shards' steps together must be the whole
    /// optimizer's step, bit for bit, in both variants (the embedding variant slices φ's embedding rows) and both
    /// feature sets (v2 standardises over every layer and measures cosines, whose dot products a cut layer hands
    /// on too), with a φ whose every part, embeddings included, changes λ and μ. The shards run on threads of
    /// their own and meet in `ThreadExchange`, as ranks meet in MPI collectives. Cuts: whole layers; through b
    /// (two ranks each holding part of it); through a after its first chunk (the second rank's part is two
    /// chunks, the last partial, handed on chunk by chunk); and a rank inside a (three ranks, the middle one
    /// holding no layer's start, the last one a's tail of 11 values).
    func testShardsStepExactlyAsTheWholeOptimizer() throws {
        let cuts: [[Range<Int>]] = [
            [0..<5006, 5006..<11_159], [0..<7054, 7054..<11_159], [0..<2048, 2048..<11_159],
            [0..<2048, 2048..<4096, 4096..<11_159],
        ]
        for variant in L3RSVariant.allCases {
            for featureSet in L3RSFeatureSet.allCases {
                for shardElements in cuts {
                    try assertShardsStepAsTheWhole(variant: variant, featureSet: featureSet, cuts: shardElements)
                }
            }
        }
    }

    private func assertShardsStepAsTheWhole(variant: L3RSVariant, featureSet: L3RSFeatureSet, cuts: [Range<Int>]) throws {
        let configuration = L3RSConfiguration(baseOptimizers: [.sgd, .momentum, .adam], baseLearningRate: 1e-2,
                                              variant: variant, initialPreferredLogit: 1, seed: 3, featureSet: featureSet)
        var whole = try L3RSOptimizer(configuration: configuration, layers: layers, parameterCount: parameterCount)
        var generator = SplitMix64(seed: 17)
        for index in whole.metaParameters.values.indices {
            whole.metaParameters.values[index] = generator.uniform(halfWidth: 0.5)
        }
        let what = "\(variant) \(featureSet) \(cuts)"
        let exchange = ThreadExchange(members: cuts.count)
        let shards = try cuts.enumerated().map { rank, elements in
            var shard = try whole.restricted(toElements: elements)
            let parts = try XCTUnwrap(shard.shardParts)
            shard.shareStatistics(across: exchange.across(rank: rank, parts: parts, layerCount: layers.count))
            return ShardBox(optimizer: shard, elements: elements)
        }
        XCTAssertEqual(shards.map(\.optimizer.parameterCount), cuts.map(\.count))
        var wholeState = whole.makeState()
        var θWhole = initialParameters(&generator)
        var θShards = θWhole
        for step in 0..<4 {
            let (g, loss) = stepInputs(θWhole, step: step, &generator)
            whole.step(parameters: &θWhole, gradient: g, loss: loss, state: &wholeState)
            let θBefore = θShards
            // One thread per shard (a pool with fewer threads than shards would deadlock in the exchange).
            let done = DispatchGroup()
            for shard in shards {
                done.enter()
                Thread {
                    shard.parameters = Array(θBefore[shard.elements])
                    shard.optimizer.step(parameters: &shard.parameters, gradient: Array(g[shard.elements]), loss: loss,
                                         state: &shard.state)
                    done.leave()
                }.start()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "\(what) step \(step): the shards did not finish")
            for shard in shards {
                θShards.replaceSubrange(shard.elements, with: shard.parameters)
                let parts = try XCTUnwrap(shard.optimizer.shardParts)
                let touched = parts.firstLayer..<(parts.firstLayer + parts.wholeCounts.count)
                XCTAssertEqual(shard.optimizer.lastStepSizes, Array(whole.lastStepSizes[touched]), "\(what) step \(step): λ")
                XCTAssertEqual(shard.state.baseStates[2].secondMoment, Array(wholeState.baseStates[2].secondMoment[shard.elements]),
                               "\(what) step \(step): Adam's second moment")
                XCTAssertEqual(shard.state.initialGradientRMS, Array(wholeState.initialGradientRMS[touched]), what)
                XCTAssertEqual(shard.state.gradientRMSAverages.count, FeatureLayout.emaDecays.count * touched.count, what)
                XCTAssertEqual(shard.state.lossAverages, wholeState.lossAverages, what)
            }
            XCTAssertEqual(θShards, θWhole, "\(what) step \(step): θ")
        }
        XCTAssertEqual(Set(whole.lastStepSizes).count > 1, true, "\(what): λ differs between layers, so φ matters")
    }

    func testParts() throws {
        let whole = try L3RSOptimizer(configuration: L3RSConfiguration(), layers: layers, parameterCount: parameterCount)
        let middle = try XCTUnwrap(try whole.restricted(toElements: 2048..<4096).shardParts)
        XCTAssertEqual(middle, ShardLayerParts(firstLayer: 0, wholeCounts: [5003], partStarts: [2048], partCounts: [2048]))
        XCTAssertEqual(middle.cutLayers, [0])
        XCTAssertTrue(middle.ownedLayers.isEmpty, "a rank inside one layer owns none")
        let last = try XCTUnwrap(try whole.restricted(toElements: 7054..<11_159).shardParts)
        XCTAssertEqual(last.firstLayer, 2)
        XCTAssertEqual(last.partStarts, [2048, 0])
        XCTAssertEqual(last.cutLayers, [0])
        XCTAssertEqual(last.ownedLayers, 1..<2)
    }

    func testRestrictingToNoElementsBeyondTheBufferOrAnUnalignedCutIsAnError() throws {
        let whole = try L3RSOptimizer(configuration: L3RSConfiguration(), layers: layers, parameterCount: parameterCount)
        XCTAssertThrowsError(try whole.restricted(toElements: 2..<2))
        XCTAssertThrowsError(try whole.restricted(toElements: 9000..<12_000))
        XCTAssertThrowsError(try whole.restricted(toElements: 1000..<5006)) { error in
            XCTAssertTrue(String(describing: error).contains("1000 elements into a.weight"), "\(error)")
        }
        XCTAssertThrowsError(try whole.restricted(toElements: 9102..<9110), "the gap between b and c holds no layer")
        let shard = try whole.restricted(toElements: 0..<5006)
        XCTAssertThrowsError(try shard.restricted(toElements: 0..<10), "a shard is not cut again")
    }
}

/// One shard's optimizer, state and parameters, stepped on its own thread.
private final class ShardBox: @unchecked Sendable {
    var optimizer: L3RSOptimizer
    var state: L3RSState
    let elements: Range<Int>
    var parameters: [Float] = []

    init(optimizer: L3RSOptimizer, elements: Range<Int>) {
        self.optimizer = optimizer
        state = optimizer.makeState()
        self.elements = elements
    }
}

/// Collectives between threads: each member deposits its values and waits until every member has, then all
/// read every member's values in member order (`AcrossShardLayers` for shards stepped on threads).
private final class ThreadExchange: @unchecked Sendable {
    private let condition = NSCondition()
    private let members: Int
    private var deposits: [[Double]]
    private var arrived = 0, readers = 0
    private var reading = false

    init(members: Int) {
        self.members = members
        deposits = Array(repeating: [], count: members)
    }

    func exchange(member: Int, _ values: [Double]) -> [[Double]] {
        condition.lock()
        defer { condition.unlock() }
        // A member ahead of the others waits until everyone has read the last round.
        while reading { condition.wait() }
        deposits[member] = values
        arrived += 1
        if arrived == members {
            reading = true
            condition.broadcast()
        } else {
            while !reading { condition.wait() }
        }
        let all = deposits
        readers += 1
        if readers == members {
            (readers, arrived, reading) = (0, 0, false)
            condition.broadcast()
        }
        return all
    }

    /// The rank's view: `gather` contributes the values of the layers whose start it holds.
    func across(rank: Int, parts: ShardLayerParts, layerCount: Int) -> AcrossShardLayers {
        let owned = parts.ownedLayers
        return AcrossShardLayers(firstLayer: parts.firstLayer, cutsLayers: true, gather: { values in
            let mine = Array(values[owned]).map(Double.init)
            let all = self.exchange(member: rank, mine).flatMap { $0 }.map(Float.init)
            precondition(all.count == layerCount)
            return all
        }, exchange: { values in self.exchange(member: rank, values) })
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
