import Foundation
import Seeding
import XCTest
@testable import Network

/// BatchNorm's three training modes. `sync` is checked by finite differences on one rank and, with two
/// "ranks" as two threads joined by an in-process reducer, against `local` on the whole batch: synchronised
/// statistics over slices must be the statistics of the global batch (the real two-process run is in
/// TrainingTests' `BatchNormRankTests`).
final class BatchNormModeTests: XCTestCase {
    /// Ranks as threads: each call waits for every rank's buffer and hands each the rank-ordered sum.
    final class ThreadRanks: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var deposits: [[Double]]
        private var arrived = 0
        private var generation = 0
        private var result: [Double] = []
        private(set) var calls = 0

        init(size: Int) {
            self.size = size
            deposits = Array(repeating: [], count: size)
        }

        func sum(_ values: UnsafeMutableBufferPointer<Double>, rank: Int) {
            condition.lock()
            defer { condition.unlock() }
            let mine = generation
            deposits[rank] = Array(values)
            arrived += 1
            if arrived == size {
                result = deposits[0]
                for other in 1..<size { for i in result.indices { result[i] += deposits[other][i] } }
                arrived = 0
                generation += 1
                calls += 1
                condition.broadcast()
            } else {
                while generation == mine { condition.wait() }
            }
            for i in 0..<values.count { values[i] = result[i] }
        }
    }

    final class RankReducer: BatchStatisticsReducer {
        let ranks: ThreadRanks
        let rank: Int
        init(_ ranks: ThreadRanks, rank: Int) { self.ranks = ranks; self.rank = rank }
        func sumAcrossRanks(_ values: UnsafeMutableBufferPointer<Double>) { ranks.sum(values, rank: rank) }
    }

    /// One "rank": its layer, its slice and what its passes returned.
    final class RankPass: @unchecked Sendable {
        let layer: BatchNorm2d
        let registry: ParameterRegistry
        let input: Tensor
        let projection: Tensor
        var output: [Float] = []
        var inputGradient: [Float] = []

        init(layer: BatchNorm2d, registry: ParameterRegistry, input: Tensor, projection: Tensor) {
            self.layer = layer
            self.registry = registry
            self.input = input
            self.projection = projection
        }

        func run() {
            output = layer.forward(input, training: true).values
            inputGradient = layer.backward(projection).values
        }
    }

    private func makeNorm(channels: Int, seed: UInt64) -> (BatchNorm2d, ParameterRegistry) {
        let registry = ParameterRegistry()
        let norm = BatchNorm2d(name: "bn", channels: channels, registry: registry)
        registry.allocate()
        TestData.randomize(registry.parameters, seed: seed)
        var generator = SplitMix64(seed: seed)
        ParameterInitializer.initialize(registry.buffers.entries, in: registry.buffers, using: &generator)
        return (norm, registry)
    }

    private func slice(_ tensor: Tensor, _ range: Range<Int>) -> Tensor {
        let perImage = tensor.count / tensor.shape[0]
        return Tensor(shape: [range.count] + tensor.shape.dropFirst(), values: Array(tensor.values[(range.lowerBound * perImage)..<(range.upperBound * perImage)]))
    }

    private func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        let scale = max(b.map(abs).max() ?? 1, 1e-6)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    /// The synchronised layer's own gradients, by finite differences, on one rank (its reducer called three
    /// times per forward and backward: sums, squares, the two backward reductions).
    func testSyncModeGradientsOnOneRank() {
        let (norm, registry) = makeNorm(channels: 3, seed: 21)
        let ranks = ThreadRanks(size: 1)
        norm.mode = .sync
        norm.statisticsReducer = RankReducer(ranks, rank: 0)
        let x = TestData.uniform(shape: [3, 3, 2, 3], in: -2, 2, seed: 22)
        assertGradientsMatch(GradientCheck.layerResults(norm, input: x, training: true, parameters: registry.parameters), tolerance: 2e-2)
        let start = ranks.calls
        _ = norm.forward(x, training: true)
        XCTAssertEqual(ranks.calls, start + 2, "forward reduces twice")
        _ = norm.backward(x)
        XCTAssertEqual(ranks.calls, start + 3, "backward reduces once")
        _ = norm.forward(x, training: false)
        _ = norm.backward(x)
        XCTAssertEqual(ranks.calls, start + 3, "evaluation never reduces")
    }

    /// Two ranks with slices of 3 and 2 images: outputs, input gradients, summed scale/shift gradients and the
    /// running statistics equal those of one layer on all 5 images (to rounding), and the running statistics
    /// are bitwise the same on both ranks. `local` on the slices does not (the check can fail).
    func testSyncOverTwoRanksEqualsTheWholeBatch() throws {
        let x = TestData.uniform(shape: [5, 3, 2, 3], in: -2, 2, seed: 23)
        let projection = TestData.uniform(shape: x.shape, in: -1, 1, seed: 24)
        let (whole, wholeRegistry) = makeNorm(channels: 3, seed: 25)
        let expectedOutput = whole.forward(x, training: true).values
        let expectedInputGradient = whole.backward(projection).values

        for mode in [BatchNormMode.sync, .local] {
            let ranks = ThreadRanks(size: 2)
            let passes = [0..<3, 3..<5].enumerated().map { rank, range in
                let (norm, registry) = makeNorm(channels: 3, seed: 25)
                norm.mode = mode
                norm.statisticsReducer = RankReducer(ranks, rank: rank)
                return RankPass(layer: norm, registry: registry, input: slice(x, range), projection: slice(projection, range))
            }
            let group = DispatchGroup()
            for pass in passes {
                group.enter()
                Thread { pass.run(); group.leave() }.start()
            }
            XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "the two ranks finished")
            let output = passes.flatMap(\.output), inputGradient = passes.flatMap(\.inputGradient)
            let scaleGradient = zip(passes[0].registry.parameters.gradients, passes[1].registry.parameters.gradients).map { $0 + $1 }
            let runningStatistics = passes.map { Array($0.registry.buffers.values) }
            if mode == .sync {
                XCTAssertLessThanOrEqual(maxRelative(output, expectedOutput), 1e-6)
                XCTAssertLessThanOrEqual(maxRelative(inputGradient, expectedInputGradient), 1e-5)
                XCTAssertLessThanOrEqual(maxRelative(scaleGradient, Array(wholeRegistry.parameters.gradients)), 1e-5)
                XCTAssertLessThanOrEqual(maxRelative(runningStatistics[0], Array(wholeRegistry.buffers.values)), 1e-6)
                XCTAssertEqual(runningStatistics[0], runningStatistics[1], "identical running statistics on every rank")
                XCTAssertEqual(ranks.calls, 3)
            } else {
                XCTAssertGreaterThan(maxRelative(output, expectedOutput), 1e-2, "local statistics differ from the global batch's")
                XCTAssertNotEqual(runningStatistics[0], runningStatistics[1])
                XCTAssertEqual(ranks.calls, 0, "local mode never reduces")
            }
        }
    }

    /// A whole ResNet on two thread-ranks with slices of 3 and 2 images: the summed parameter gradients of the
    /// two ranks' losses (each rank's loss weighted by its share of the global mean, as the trainer does) equal
    /// the whole batch's gradient, and the running statistics agree with it and are bitwise equal on both ranks.
    func testSyncResNetGradientOverTwoRanksEqualsTheWholeBatch() throws {
        func makeModel() -> Model {
            ModelZoo.resnet(inputShape: [1, 12, 12], blocksPerStage: [1, 1], baseWidth: 4, classCount: 3, seed: 31)
        }
        let x = TestData.uniform(shape: [5, 1, 12, 12], in: -1, 1, seed: 32)
        let labels = [0, 2, 1, 1, 0]
        let whole = makeModel()
        let loss = SoftmaxCrossEntropy()
        _ = loss.loss(logits: whole.forward(x, training: true), labels: labels)
        whole.parameters.zeroGradients()
        whole.backward(loss.gradient())

        final class ModelRank: @unchecked Sendable {
            let model: Model, input: Tensor, labels: [Int], weight: Float
            init(model: Model, input: Tensor, labels: [Int], weight: Float) {
                self.model = model; self.input = input; self.labels = labels; self.weight = weight
            }
            func run() {
                let loss = SoftmaxCrossEntropy()
                _ = loss.loss(logits: model.forward(input, training: true), labels: labels)
                let gradient = loss.gradient()
                for i in 0..<gradient.count { gradient[i] *= weight }
                model.parameters.zeroGradients()
                model.backward(gradient)
            }
        }
        let ranks = ThreadRanks(size: 2)
        let passes = [0..<3, 3..<5].enumerated().map { rank, range in
            let model = makeModel()
            model.configureBatchNorm(.sync, reducer: RankReducer(ranks, rank: rank))
            return ModelRank(model: model, input: slice(x, range), labels: Array(labels[range]), weight: Float(range.count) / 5)
        }
        let group = DispatchGroup()
        for pass in passes {
            group.enter()
            Thread { pass.run(); group.leave() }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "the two ranks finished")
        let summed = zip(passes[0].model.parameters.gradients, passes[1].model.parameters.gradients).map { $0 + $1 }
        var worst: Float = 0
        for entry in whole.parameters.entries {
            let expected = Array(whole.parameters.gradients(of: entry))
            let difference = maxRelative(Array(summed[entry.range]), expected)
            worst = max(worst, difference)
            XCTAssertLessThanOrEqual(difference, 1e-5, entry.name)
        }
        print("sync ResNet over 2 thread-ranks: largest gradient difference per tensor, relative to its largest value: \(worst)")
        XCTAssertEqual(Array(passes[0].model.buffers.values), Array(passes[1].model.buffers.values))
        XCTAssertLessThanOrEqual(maxRelative(Array(passes[0].model.buffers.values), Array(whole.buffers.values)), 1e-6)
    }

    /// Frozen: training normalises with the running statistics, leaves them (and the batch count) alone,
    /// still trains scale and shift, and its gradients are those of the affine map.
    func testFrozenModeUsesAndKeepsTheRunningStatistics() {
        let (norm, registry) = makeNorm(channels: 3, seed: 26)
        let buffers = registry.buffers
        for (index, value) in [0.5, -0.25, 1, 2, 0.5, 1.5].enumerated() { buffers.values[index] = Float(value) }
        let before = Array(buffers.values)
        norm.mode = .frozen
        let x = TestData.uniform(shape: [2, 3, 2, 2], in: -2, 2, seed: 27)
        let frozen = norm.forward(x, training: true).values
        XCTAssertEqual(Array(buffers.values), before, "running statistics and num_batches_tracked unchanged")
        let (reference, referenceRegistry) = makeNorm(channels: 3, seed: 26)
        for index in 0..<before.count { referenceRegistry.buffers.values[index] = before[index] }
        XCTAssertEqual(frozen, reference.forward(x, training: false).values, "frozen training forward is the evaluation forward")
        assertGradientsMatch(GradientCheck.layerResults(norm, input: x, training: true, parameters: registry.parameters), tolerance: 2e-2)
        XCTAssertGreaterThan(registry.parameters.gradients.map(abs).max() ?? 0, 0, "scale and shift still get gradients")
    }

    /// `configureBatchNorm` reaches the BatchNorms inside blocks too.
    func testModelConfiguresEveryBatchNorm() throws {
        let model = try ModelZoo.make(named: "resnet18@32", classCount: 3, seed: 0)
        XCTAssertEqual(model.batchNormLayers.count, 20)
        XCTAssertTrue(model.batchNormLayers.allSatisfy { $0.mode == .local && $0.statisticsReducer == nil })
        let reducer = RankReducer(ThreadRanks(size: 1), rank: 0)
        model.configureBatchNorm(.sync, reducer: reducer)
        XCTAssertTrue(model.batchNormLayers.allSatisfy { $0.mode == .sync && $0.statisticsReducer === reducer })
        model.configureBatchNorm(.frozen)
        XCTAssertTrue(model.batchNormLayers.allSatisfy { $0.mode == .frozen && $0.statisticsReducer == nil })
    }
}
