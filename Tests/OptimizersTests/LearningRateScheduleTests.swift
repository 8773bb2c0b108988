import XCTest
import Optimizers

final class LearningRateScheduleTests: XCTestCase {
    func testConstantIsOneEverywhere() {
        for step in [0, 1, 999, 1_000_000] {
            XCTAssertEqual(LearningRateSchedule.constant.multiplier(atStep: step), 1)
        }
    }

    func testCosineAtKnownSteps() {
        let toZero = LearningRateSchedule.cosine(totalSteps: 10)
        XCTAssertEqual(toZero.multiplier(atStep: 0), 1, accuracy: 1e-15)
        XCTAssertEqual(toZero.multiplier(atStep: 5), 0.5, accuracy: 1e-15)
        XCTAssertEqual(toZero.multiplier(atStep: 10), 0, accuracy: 1e-15)
        XCTAssertEqual(toZero.multiplier(atStep: 25), 0, accuracy: 1e-15, "stays at the final fraction past the end")
        // (1 + cos(π/4)) / 2 at a quarter of the way.
        XCTAssertEqual(LearningRateSchedule.cosine(totalSteps: 100).multiplier(atStep: 25),
                       (1 + 0.5.squareRoot()) / 2, accuracy: 1e-12)

        let toTenth = LearningRateSchedule.cosine(totalSteps: 100, finalFraction: 0.1)
        XCTAssertEqual(toTenth.multiplier(atStep: 50), 0.55, accuracy: 1e-12)
        XCTAssertEqual(toTenth.multiplier(atStep: 100), 0.1, accuracy: 1e-12)
    }

    func testWarmupCosineAtKnownSteps() {
        let schedule = LearningRateSchedule.warmupCosine(warmupSteps: 4, totalSteps: 14)
        let expected: [(Int, Double)] = [(0, 0.25), (1, 0.5), (2, 0.75), (3, 1), (4, 1), (9, 0.5), (14, 0), (40, 0)]
        for (step, value) in expected {
            XCTAssertEqual(schedule.multiplier(atStep: step), value, accuracy: 1e-12, "step \(step)")
        }
    }

    func testWarmupComposesWithConstant() {
        let schedule = LearningRateSchedule(warmupSteps: 2, decay: .constant)
        XCTAssertEqual([0, 1, 2, 100].map(schedule.multiplier(atStep:)), [0.5, 1, 1, 1])
    }

    func testCosineWithNoDecayStepsIsTheFinalFraction() {
        XCTAssertEqual(LearningRateSchedule.warmupCosine(warmupSteps: 3, totalSteps: 3, finalFraction: 0.2)
            .multiplier(atStep: 3), 0.2)
    }

    func testConfigurationBuildsTheSchedules() throws {
        var configuration = OptimizerConfiguration(optimizer: .adam, learningRate: 1e-3)
        XCTAssertEqual(try configuration.makeSchedule(), .constant)
        configuration.schedule = .cosine
        configuration.totalSteps = 50
        configuration.finalLearningRateFraction = 0.1
        XCTAssertEqual(try configuration.makeSchedule(), .cosine(totalSteps: 50, finalFraction: 0.1))
        configuration.schedule = .warmupCosine
        configuration.warmupSteps = 5
        XCTAssertEqual(try configuration.makeSchedule(),
                       .warmupCosine(warmupSteps: 5, totalSteps: 50, finalFraction: 0.1))
    }

    /// Linear decay against its closed form 1 − (1 − f)·(k − W)/(T − W), after a linear warm-up.
    func testLinearDecayMatchesItsClosedForm() throws {
        let (warmup, total, final) = (4, 24, 0.2)
        let schedule = LearningRateSchedule(warmupSteps: warmup, decay: .linear(totalSteps: total, finalFraction: final))
        for step in 0...40 {
            let expected: Double
            if step < warmup { expected = Double(step + 1) / Double(warmup) }
            else { expected = 1 - (1 - final) * min(1, Double(step - warmup) / Double(total - warmup)) }
            XCTAssertEqual(schedule.multiplier(atStep: step), expected, accuracy: 1e-15, "step \(step)")
        }
        XCTAssertEqual(LearningRateSchedule.linear(totalSteps: 10).multiplier(atStep: 5), 0.5, accuracy: 1e-15)
        XCTAssertEqual(LearningRateSchedule.linear(totalSteps: 10).multiplier(atStep: 10), 0)
        var configuration = OptimizerConfiguration(optimizer: .adam, learningRate: 1e-3, schedule: .linear, warmupSteps: 2,
                                                   totalSteps: 12)
        XCTAssertEqual(try configuration.makeSchedule(),
                       LearningRateSchedule(warmupSteps: 2, decay: .linear(totalSteps: 12, finalFraction: 0)))
        configuration.warmupSteps = 13
        XCTAssertThrowsError(try configuration.makeSchedule(), "warm-up longer than the run")
    }
}
