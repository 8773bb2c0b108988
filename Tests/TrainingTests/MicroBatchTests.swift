import Distributed
import Foundation
import XCTest
@testable import Training

/// Gradient accumulation (`microBatches`): the same global batch in k micro-batches gives the same gradient
/// and loss to float rounding, and a net without BatchNorm (mlp) the same trajectory; k = 1 is the old step
/// bit for bit (HandDesignedResumeTests and TrainerLaunchTests pin it).
final class MicroBatchTests: XCTestCase {
    private func trainer(microBatches: Int, optimizer: TrainingOptimizer) throws -> DataParallelTrainer {
        try SmallTrainer.make { $0.microBatches = microBatches; $0.optimizer = optimizer }
    }

    private func relativeDifference(_ a: [Float], _ b: [Float]) -> Double { SmallTrainer.relativeDifference(a, b) }

    func testMicroBatchesGiveTheSameGradientAndLoss() throws {
        let whole = try trainer(microBatches: 1, optimizer: .sgd)
        let whole0 = Array(whole.model.parameters.values)
        let wholeStep = try whole.trainStep()
        for k in [2, 3, 16] {
            let split = try trainer(microBatches: k, optimizer: .sgd)
            XCTAssertEqual(Array(split.model.parameters.values), whole0, "the same start")
            let splitStep = try split.trainStep()
            let difference = relativeDifference(Array(whole.model.parameters.gradients), Array(split.model.parameters.gradients))
            print("microBatches \(k): relative gradient difference \(difference), loss \(wholeStep.loss) vs \(splitStep.loss)")
            XCTAssertLessThanOrEqual(difference, 1e-6, "k = \(k)")
            XCTAssertEqual(splitStep.loss, wholeStep.loss, accuracy: 1e-6 * wholeStep.loss, "k = \(k)")
            XCTAssertEqual(splitStep.accuracy, wholeStep.accuracy, accuracy: 1e-6, "k = \(k)")
            XCTAssertEqual(splitStep.gradientNorm, wholeStep.gradientNorm, accuracy: 1e-6 * wholeStep.gradientNorm)
        }
        XCTAssertGreaterThan(wholeStep.gradientNorm, 0)
    }

    func testWithoutBatchNormTheTrajectoryIsTheSame() throws {
        let whole = try trainer(microBatches: 1, optimizer: .momentum)
        let split = try trainer(microBatches: 4, optimizer: .momentum)
        let start = Array(whole.model.parameters.values)
        for _ in 0..<10 {
            _ = try whole.trainStep()
            _ = try split.trainStep()
        }
        let difference = relativeDifference(Array(whole.model.parameters.values), Array(split.model.parameters.values))
        print("microBatches 4 against 1: relative parameter difference after 10 momentum steps \(difference)")
        XCTAssertLessThanOrEqual(difference, 1e-5)
        XCTAssertGreaterThan(relativeDifference(start, Array(whole.model.parameters.values)), 1e-4, "the run moved")
    }

    func testMoreMicroBatchesThanImagesIsAnError() throws {
        var c = TrainingConfiguration()
        c.globalBatch = 4
        c.microBatches = 5
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("microBatches must be in 1...globalBatch (4), got 5"), "\($0)") }
        XCTAssertThrowsError(try MicroBatches.sizes(of: 2, into: 3, rank: 1)) { XCTAssertTrue("\($0)".contains("rank 1"), "\($0)") }
        XCTAssertEqual(try MicroBatches.sizes(of: 16, into: 3, rank: 0), [6, 5, 5])
    }
}
