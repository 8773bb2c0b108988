import Datasets
import Distributed
import Foundation
import LearnedOptimizer
@testable import MetaTraining
import Network
import Training
import XCTest

/// The parts of meta-training that make it able to win (docs/method.md, "Meta-training"): the meta-batch of
/// tasks, random horizons, the evolution-strategies estimator, held-out validation that keeps the best φ,
/// and the held-out loss in evaluation mode.
final class MetaTrainingExtensionsTests: XCTestCase {
    /// A meta-step over two tasks applies the mean of the two tasks' meta-gradients, exactly.
    func testMetaBatchAveragesTheTasksMetaGradients() throws {
        var configuration = MetaFixtures.configuration()
        configuration.tasksPerMetaStep = 2
        configuration.metaLearningRate = 0.01
        let batched = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        let manual = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try batched.startRuns()
        try manual.startRuns()
        let report = try batched.metaTrainStep()

        var estimates: [TaskEstimate] = []
        for index in 0..<2 {
            var run = manual.runs[index]
            estimates.append(try manual.reducedMetaGradient(run: &run, truncation: configuration.truncation).0)
            XCTAssertEqual(run, batched.runs[index], "task \(index) advanced differently")
        }
        XCTAssertGreaterThan(MetaGradientCheck.globalNorm(estimates[0].gradient), 0)
        XCTAssertNotEqual(estimates[0].gradient, estimates[1].gradient)
        let mean = zip(estimates[0].gradient, estimates[1].gradient).map { ($0 + $1) * 0.5 }
        var optimizer = MetaOptimizer(parameterCount: mean.count, learningRate: Float(configuration.metaLearningRate),
                                      maxGradientNorm: configuration.metaClipNorm)
        var φ = manual.optimizer.metaParameters
        _ = optimizer.update(&φ, gradient: mean)
        XCTAssertEqual(batched.optimizer.metaParameters.values, φ.values)
        XCTAssertEqual(report.metaLoss, (estimates[0].metaLoss + estimates[1].metaLoss) / 2, accuracy: 1e-12)
    }

    /// Horizons are drawn per incarnation inside the configured range, reproducibly, and a run restarts when
    /// it reaches its own horizon.
    func testRandomHorizonsAreSeededInRangeAndEndRuns() throws {
        var configuration = MetaFixtures.configuration()
        configuration.minHorizon = 4
        configuration.maxHorizon = 16
        configuration.truncation = 100
        let trainer = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        var seen = Set<Int>()
        for restarts in 0..<40 {
            let run = trainer.freshRun(index: 0, restarts: restarts)
            let horizon = trainer.horizon(of: run)
            XCTAssertTrue((4...16).contains(horizon), "horizon \(horizon)")
            XCTAssertEqual(horizon, trainer.horizon(of: trainer.freshRun(index: 0, restarts: restarts)))
            seen.insert(horizon)
        }
        XCTAssertGreaterThan(seen.count, 5, "horizons drawn: \(seen.sorted())")
        // With T above every horizon, a truncation is the run's whole horizon and the next one restarts it.
        configuration.innerRuns = 1
        let whole = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try whole.startRuns()
        let first = try whole.metaTrainStep()
        XCTAssertEqual(first.truncation, whole.horizon(of: whole.runs[0]))
        let second = try whole.metaTrainStep()
        XCTAssertTrue(second.restarted)
        XCTAssertEqual(second.innerStep, 0)
        XCTAssertEqual(second.truncation, whole.horizon(of: whole.runs[0]))
    }

    /// With many pairs, the ES estimate points along the exact (second-order) meta-gradient of the same
    /// truncation: its cosine with it is far above what a random direction in this many dimensions gives
    /// (about 1/√d ≈ 0.02), and ES leaves the run exactly where a plain unroll with φ leaves it.
    func testEvolutionStrategiesEstimateAgreesWithTheExactMetaGradient() throws {
        try checkEvolutionStrategiesAgainstTheExactMetaGradient(weighting: .uniform)
    }

    /// With `metaLossWeighting` final, evolution strategies estimate the same objective as truncated
    /// backpropagation with it: the held-out loss after the truncation's last step.
    func testEvolutionStrategiesScoreTheWeightedObjective() throws {
        try checkEvolutionStrategiesAgainstTheExactMetaGradient(weighting: .final)
    }

    /// The ES estimate of a truncation (384 pairs) points along the exact second-order meta-gradient of the
    /// objective with `weighting` (cosine > 0.2) and its meta-loss agrees within 2%; the run then advances as a
    /// plain unroll with φ.
    private func checkEvolutionStrategiesAgainstTheExactMetaGradient(weighting: MetaLossWeighting) throws {
        var exactConfiguration = MetaFixtures.configuration(order: .secondOrder)
        exactConfiguration.memory = .store
        exactConfiguration.metaLossWeighting = weighting
        let exact = try MetaFixtures.trainer(exactConfiguration, communicator: SingleProcessCommunicator())
        var esConfiguration = MetaFixtures.configuration()
        esConfiguration.estimator = .antitheticES
        esConfiguration.esPairs = 384
        esConfiguration.esSigma = 0.01
        esConfiguration.metaLossWeighting = weighting
        XCTAssertNoThrow(try esConfiguration.validate())
        let es = try MetaFixtures.trainer(esConfiguration, communicator: SingleProcessCommunicator())
        try exact.startRuns()
        try es.startRuns()
        var exactRun = exact.runs[1], esRun = es.runs[1]
        let reference = try exact.reducedMetaGradient(run: &exactRun, truncation: 3).0
        let estimate = try es.antitheticESMetaGradient(run: &esRun, truncation: 3).0
        let dot = zip(reference.gradient, estimate.gradient).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let cosine = dot / (MetaGradientCheck.globalNorm(reference.gradient) * MetaGradientCheck.globalNorm(estimate.gradient))
        XCTAssertGreaterThan(cosine, 0.2, "\(weighting): cosine between ES and exact meta-gradients over \(reference.gradient.count) dimensions")
        XCTAssertEqual(estimate.metaLoss, reference.metaLoss, accuracy: 0.02 * reference.metaLoss, "\(weighting)")

        var plain = es.runs[1]
        try es.advance(&plain.parameters, state: &plain.state, steps: 3,
                       problem: try es.problem(for: plain, reduction: .globalMean), optimizer: es.optimizer)
        XCTAssertEqual(esRun, plain)
    }

    /// A weighted held-out score is the weighting's sum of the losses after each step: each loss read as the
    /// final-weighted score of an unroll that stops there.
    func testHeldOutScoreWeighsTheLossesAfterEachStep() throws {
        let trainer = try MetaFixtures.trainer(MetaFixtures.configuration(), communicator: SingleProcessCommunicator())
        try trainer.startRuns()
        let run = trainer.runs[0]
        let problem = try trainer.problem(for: run, reduction: .globalMean)
        let steps = 4
        let losses = try (1...steps).map {
            try trainer.heldOutScore(of: trainer.optimizer.metaParameters, from: run, steps: $0, problem: problem, weighting: .final).meanLoss
        }
        XCTAssertEqual(Set(losses.map { $0.bitPattern }).count, steps, "the losses change step by step: \(losses)")
        for weighting in [MetaLossWeighting.uniform, .linear, .final] {
            let expected = zip(weighting.weights(count: steps), losses).reduce(0.0) { $0 + $1.0 * $1.1 }
            let score = try trainer.heldOutScore(of: trainer.optimizer.metaParameters, from: run, steps: steps, problem: problem,
                                                 weighting: weighting)
            XCTAssertEqual(score.meanLoss, expected, accuracy: 1e-12 * abs(expected), "\(weighting)")
        }
    }

    /// The checkpoint holds every pair of every run PES has touched, and restoring it gives back the same
    /// particles and ξ; on a run's first truncation PES is antitheticES (the same ε, ξ = ε).
    func testPESStateRoundTripsThroughTheCheckpointAndStartsAsES() throws {
        var refused = MetaFixtures.configuration(order: .secondOrder)
        refused.estimator = .pes
        XCTAssertThrowsError(try refused.validate()) { XCTAssertTrue(String(describing: $0).contains("pes scores"), "\($0)") }
        var configuration = MetaFixtures.configuration()
        configuration.estimator = .pes
        configuration.esPairs = 3
        let trainer = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try trainer.startRuns()
        var esConfiguration = configuration
        esConfiguration.estimator = .antitheticES
        let es = try MetaFixtures.trainer(esConfiguration, communicator: SingleProcessCommunicator())
        try es.startRuns()
        var pesRun = es.runs[1], esRun = es.runs[1]
        let first = try es.persistentESMetaGradient(run: &pesRun, truncation: 3).0
        XCTAssertEqual(first.gradient, try es.antitheticESMetaGradient(run: &esRun, truncation: 3).0.gradient)
        XCTAssertEqual(pesRun, esRun)
        // Run 0, run 1, run 0 again: run 0's pairs persist through its second truncation.
        for _ in 0..<3 { _ = try trainer.metaTrainStep() }
        XCTAssertEqual(trainer.persistentES[0]?.step, trainer.runs[0].step)
        let file = try trainer.checkpointFile()
        XCTAssertNotNil(file["pes.0.pair.2"])
        let restored = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try restored.restore(from: file, source: "memory")
        XCTAssertEqual(Set(restored.persistentES.keys), Set(trainer.persistentES.keys))
        for (index, kept) in trainer.persistentES {
            XCTAssertEqual(restored.persistentES[index]?.restarts, kept.restarts)
            XCTAssertEqual(restored.persistentES[index]?.step, kept.step)
            for (a, b) in zip(kept.estimator.pairs, restored.persistentES[index]!.estimator.pairs) {
                XCTAssertEqual(MetaTrainer.pairValues(a), MetaTrainer.pairValues(b))
                XCTAssertTrue(a.positive == b.positive && a.negative == b.negative, "particle \(index) restored")
            }
        }
    }

    /// PES scores the objective `metaLossWeighting` names: on a run's first truncation it is antithetic ES with
    /// the same weighting (so, by testEvolutionStrategiesScoreTheWeightedObjective, it estimates the weighted
    /// objective's meta-gradient), and the final weighting's estimate is not the uniform one's.
    func testPESScoresTheWeightedObjective() throws {
        func firstTruncation(_ estimator: MetaGradientEstimator, _ weighting: MetaLossWeighting) throws -> TaskEstimate {
            var configuration = MetaFixtures.configuration()
            configuration.estimator = estimator
            configuration.esPairs = 3
            configuration.metaLossWeighting = weighting
            XCTAssertNoThrow(try configuration.validate())
            let trainer = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
            try trainer.startRuns()
            var run = trainer.runs[1]
            return estimator == .pes ? try trainer.persistentESMetaGradient(run: &run, truncation: 3).0
                : try trainer.antitheticESMetaGradient(run: &run, truncation: 3).0
        }
        let pesFinal = try firstTruncation(.pes, .final)
        let esFinal = try firstTruncation(.antitheticES, .final)
        XCTAssertTrue(pesFinal.gradient == esFinal.gradient, "PES's first truncation is antithetic ES with the same weighting")
        XCTAssertEqual(pesFinal.metaLoss, esFinal.metaLoss)
        let pesUniform = try firstTruncation(.pes, .uniform)
        XCTAssertTrue(pesFinal.gradient != pesUniform.gradient, "the weighting reaches PES's estimate")
        XCTAssertNotEqual(pesFinal.metaLoss, pesUniform.metaLoss)
    }

    /// Validation scores every φ on held-out tasks and keeps the best: a meta-learning rate large enough
    /// to wreck φ leaves the best φ at an earlier, better one, and the checkpoint carries it.
    func testValidationKeepsTheBestMetaParametersAcrossACheckpoint() throws {
        var configuration = MetaFixtures.configuration()
        configuration.validateEvery = 1
        configuration.validationHorizon = 6
        configuration.metaLearningRate = 3
        configuration.metaClipNorm = 1e6
        let trainer = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try trainer.startRuns()
        let initial = try trainer.validateAndKeepBest()
        XCTAssertTrue(initial.isBest)
        var scores = [initial.meanLoss]
        for _ in 0..<4 {
            let validation = try XCTUnwrap(try trainer.metaTrainStep().validation)
            scores.append(validation.meanLoss)
        }
        let best = try XCTUnwrap(trainer.best)
        XCTAssertEqual(best.meanLoss, scores.filter(\.isFinite).min())
        XCTAssertNotEqual(trainer.optimizer.metaParameters, best.metaParameters, "scores \(scores)")
        XCTAssertEqual(trainer.resultMetaParameters, best.metaParameters)
        XCTAssertEqual(try trainer.validationScore(of: best.metaParameters).meanLoss, best.meanLoss)

        let restored = try MetaFixtures.trainer(configuration, communicator: SingleProcessCommunicator())
        try restored.restore(from: try trainer.checkpointFile(), source: "test")
        XCTAssertEqual(restored.best, best)
    }

    /// The held-out loss runs the model in evaluation mode: BatchNorm's running statistics are used and
    /// left unchanged, while a training step updates them.
    func testHeldOutLossUsesEvaluationMode() throws {
        let model = try ModelZoo.make(named: "ccexam-usps", classCount: 10, seed: 5)
        var images: [Float] = []
        for index in 0..<(32 * 256) { images.append(Float((index * 7919) % 255) / 255) }
        let data = try Dataset(name: "pattern", images: images, labels: (0..<32).map { Int32($0 % 10) }, channels: 1,
                               height: 16, width: 16, classCount: 10, pixelMaximum: 1)
        let problem = try ModelInnerProblem(
            model: model, communicator: SingleProcessCommunicator(), trainSet: data, validationSet: data,
            trainSampler: try GlobalBatchSampler(sampleCount: 32, globalBatchSize: 8, seed: 1),
            validationSampler: try GlobalBatchSampler(sampleCount: 32, globalBatchSize: 8, seed: 2),
            validationReduction: .globalMean)
        let θ = Array(model.parameters.values)
        var gradient = [Float](repeating: 0, count: θ.count)
        let statistics = Array(model.buffers.values)
        let loss = θ.withUnsafeBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { problem.validationLossAndGradient(parameters: p, step: 0, gradient: $0) }
        }
        XCTAssertEqual(Array(model.buffers.values), statistics, "the held-out loss changed BatchNorm's running statistics")
        let scored = θ.withUnsafeBufferPointer { problem.validationLossAndAccuracy(parameters: $0, step: 0) }
        XCTAssertEqual(scored.loss, loss, accuracy: 1e-6 * abs(loss))
        XCTAssertEqual(Array(model.buffers.values), statistics)
        _ = θ.withUnsafeBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: 0, gradient: $0) }
        }
        XCTAssertNotEqual(Array(model.buffers.values), statistics, "a training step must update the running statistics")
    }
}
