import XCTest
@testable import Kernels
@testable import Optimizers

/// The optimizer passes that run on `WorkerPool.shared` in element chunks (coupled weight decay and clipping
/// scale, Adam's and momentum's directions, the parameter update) give the same bits at 1, 2, 3 and 4 threads:
/// parameters and every state tensor after three steps, over layers longer than a chunk and groups with and
/// without weight decay (the `ThreadCountInvarianceTests` of the optimizers).
final class UpdateThreadCountInvarianceTests: XCTestCase {
    private func afterThreeSteps(_ rule: any DirectionRule, threads: Int) throws -> [UInt32] {
        WorkerPool.shared.setThreadCount(threads)
        let count = 3 * WorkerPool.elementwiseChunk + 4_321
        let groups = [
            ParameterGroup(name: "decayed", offset: 0, count: 2 * WorkerPool.elementwiseChunk + 17, appliesWeightDecay: true),
            ParameterGroup(name: "plain", offset: 2 * WorkerPool.elementwiseChunk + 17,
                           count: count - 2 * WorkerPool.elementwiseChunk - 17, learningRateMultiplier: 3, appliesWeightDecay: false),
        ]
        var optimizer = try HandDesignedOptimizer(rule: rule, parameterCount: count, groups: groups, learningRate: 1e-2,
                                                  weightDecay: 0.1, maxGradientNorm: 5)
        var parameters = (0..<count).map { Float(($0 * 7_919) % 1_000) / 500 - 1 }
        for step in 0..<3 {
            let gradient = (0..<count).map { Float((($0 + 31 * step) * 104_729) % 2_001) / 1_000 - 1 }
            optimizer.step(parameters: &parameters, gradient: gradient)
        }
        return (parameters + optimizer.state.firstMoment + optimizer.state.secondMoment).map(\.bitPattern)
    }

    func testHandDesignedUpdatesSameBitsAtEveryThreadCount() throws {
        let before = WorkerPool.shared.threadCount
        defer { WorkerPool.shared.setThreadCount(before) }
        let rules: [any DirectionRule] = [Adam(), AdamW(), Momentum(beta: 0.9), Momentum(beta: 0.9, nesterov: true), SGD()]
        for rule in rules {
            let reference = try afterThreeSteps(rule, threads: 1)
            for threads in 2...4 {
                let bits = try afterThreeSteps(rule, threads: threads)
                let differing = zip(reference, bits).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(rule.name): \(differing) values differ between 1 and \(threads) threads")
            }
        }
    }
}
