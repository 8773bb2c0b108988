import Distributed
import LearnedOptimizer
@testable import MetaTraining
import TestSupport
import XCTest

/// The meta-gradient of the global meta-loss is the same for any number of ranks at a fixed global batch
/// (docs/method.md §5). Each check computes it on this process's world (MPI under mpirun) and, in the same
/// process, on a single-process communicator with the whole batch, and compares. `swift test` runs it on
/// one rank (where it checks the single-process path against itself); `MultiRankMetaTrainingTests` re-runs
/// this class under `mpirun -np 2`, where shards, allreduces and the φ̄ reduction are real.
final class MetaGradientRankChecks: XCTestCase {
    static func communicator() throws -> any Communicator { try ProcessCommunicator.get() }

    override class func tearDown() {
        ProcessCommunicator.finish()
        super.tearDown()
    }

    private func compare(order: MetaGradientOrder, memory: UnrollMemoryMode, objective: MetaObjective = .standard,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        var configuration = MetaFixtures.configuration(order: order)
        configuration.memory = memory
        configuration.metaLossWeighting = objective.weighting
        configuration.stepSizePenalty = objective.stepSizePenalty
        let world = try MetaFixtures.trainer(configuration, communicator: try Self.communicator())
        let single = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        if objective.stepSizePenalty > 0 {
            // o_λ = 0 at the initial φ, where the penalty has no gradient: move its bias off zero.
            for trainer in [world, single] {
                trainer.optimizer.metaParameters.values[trainer.optimizer.metaParameters.layout.outputBiasOffset] = 0.5
            }
        }
        try world.startRuns()
        try single.startRuns()
        // Two consecutive truncations of inner run 1 (which starts staggered at H/2), so the second starts
        // from a state the first produced on each world.
        var worldRun = world.runs[1], singleRun = single.runs[1]
        for _ in 0..<2 {
            let (worldResult, _) = try world.reducedMetaGradient(run: &worldRun, truncation: configuration.truncation)
            let (singleResult, _) = try single.reducedMetaGradient(run: &singleRun, truncation: configuration.truncation)
            XCTAssertTrue(worldResult.isFinite, file: file, line: line)
            XCTAssertGreaterThan(MetaGradientCheck.globalNorm(singleResult.gradient), 0, file: file, line: line)
            let difference = MetaFixtures.relativeDifference(worldResult.gradient, singleResult.gradient)
            XCTAssertLessThan(difference, 1e-4, "\(order) meta-gradient differs by \(difference) relative", file: file, line: line)
            XCTAssertEqual(worldResult.metaLoss, singleResult.metaLoss, accuracy: 1e-5 * abs(singleResult.metaLoss),
                           file: file, line: line)
            if objective.stepSizePenalty > 0 { XCTAssertGreaterThan(singleResult.stepSizePenalty, 0, file: file, line: line) }
            XCTAssertEqual(worldResult.stepSizePenalty, singleResult.stepSizePenalty,
                           accuracy: 1e-5 * abs(singleResult.stepSizePenalty), file: file, line: line)
        }
        XCTAssertLessThan(MetaFixtures.relativeDifference(worldRun.parameters, singleRun.parameters), 1e-5,
                          file: file, line: line)
    }

    func testFirstOrderMetaGradientIsRankInvariant() throws {
        try compare(order: .firstOrder, memory: .store)
    }

    func testSecondOrderMetaGradientIsRankInvariant() throws {
        try compare(order: .secondOrder, memory: .store)
    }

    func testSecondOrderRecomputeMatchesOnAnyWorld() throws {
        try compare(order: .secondOrder, memory: .recompute)
    }

    /// The step-size penalty is the same on every rank; first order sums the ranks' meta-gradients, so each
    /// rank must contribute only its share of the penalty's gradient.
    func testFirstOrderWithPenaltyAndFinalWeightingIsRankInvariant() throws {
        try compare(order: .firstOrder, memory: .store,
                    objective: MetaObjective(weighting: .final, stepSizePenalty: 0.5))
    }

    /// Evolution strategies deal the perturbation pairs to the ranks and sum their estimates: the estimate,
    /// the meta-loss and the advanced run are those of one process doing every pair.
    func testEvolutionStrategiesEstimateIsRankInvariant() throws {
        try compareEvolutionStrategies(.antitheticES, run: 1, truncations: 2) { trainer, run, truncation in
            try trainer.antitheticESMetaGradient(run: &run, truncation: truncation).0
        }
    }

    /// PES deals its pairs to the ranks and broadcasts each pair's particles from its owner: over three
    /// truncations of one incarnation (so the particles and ξ persist), the estimate and meta-loss are those of
    /// one process doing every pair, and every rank holds every pair's particles and ξ, bit for bit.
    func testPersistentESEstimateIsRankInvariant() throws {
        let (world, worldRun) = try compareEvolutionStrategies(.pes, run: 0, truncations: 3, estimate: { trainer, run, truncation in
            try trainer.persistentESMetaGradient(run: &run, truncation: truncation).0
        }, afterEach: { world, single in
            let (worldPairs, singlePairs) = (world.persistentES[0]!.estimator.pairs, single.persistentES[0]!.estimator.pairs)
            XCTAssertEqual(worldPairs.count, 5)
            for (a, b) in zip(worldPairs, singlePairs) {
                XCTAssertEqual(MetaTrainer.pairValues(a), MetaTrainer.pairValues(b))
                XCTAssertEqual(a.positive.state, b.positive.state)
            }
        })
        XCTAssertEqual(worldRun.step, 9)
        XCTAssertNotEqual(world.persistentES[0]!.estimator.pairs[1].positive.parameters, worldRun.parameters,
                          "the particles run their own perturbed trajectories")
    }

    /// `truncations` estimates by `estimator` (5 pairs) of run `index`, on this world and on one process doing
    /// every pair: each estimate is non-zero and agrees in gradient and meta-loss, `afterEach` checks more
    /// after each truncation, and the advanced runs agree. Returns the world's trainer and run.
    @discardableResult
    private func compareEvolutionStrategies(
        _ estimator: MetaGradientEstimator, run index: Int, truncations: Int,
        estimate: (MetaTrainer, inout InnerRun, Int) throws -> TaskEstimate,
        afterEach: (MetaTrainer, MetaTrainer) -> Void = { _, _ in }
    ) throws -> (MetaTrainer, InnerRun) {
        var configuration = MetaFixtures.configuration()
        configuration.estimator = estimator
        configuration.esPairs = 5
        let world = try MetaFixtures.trainer(configuration, communicator: try Self.communicator())
        let single = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try world.startRuns()
        try single.startRuns()
        var worldRun = world.runs[index], singleRun = single.runs[index]
        for _ in 0..<truncations {
            let worldEstimate = try estimate(world, &worldRun, configuration.truncation)
            let singleEstimate = try estimate(single, &singleRun, configuration.truncation)
            XCTAssertGreaterThan(MetaGradientCheck.globalNorm(singleEstimate.gradient), 0)
            XCTAssertLessThan(MetaFixtures.relativeDifference(worldEstimate.gradient, singleEstimate.gradient), 1e-5)
            XCTAssertEqual(worldEstimate.metaLoss, singleEstimate.metaLoss, accuracy: 1e-6 * singleEstimate.metaLoss)
            afterEach(world, single)
        }
        XCTAssertLessThan(MetaFixtures.relativeDifference(worldRun.parameters, singleRun.parameters), 1e-5)
        return (world, worldRun)
    }
}
