import XCTest
@testable import Pipeline

/// The ruler's statistics on synthetic curves whose answers are known in closed form.
final class ComparisonStatisticsTests: XCTestCase {
    typealias S = ComparisonStatistics

    /// A curve at steps 10, 20, …, `last` from a function of the step.
    func curve(last: Int = 100, _ f: (Double) -> Double) -> AccuracyCurve {
        stride(from: 10, through: last, by: 10).map { (Double($0), f(Double($0))) }
    }

    func testTIntervalMatchesTheTextbookValue() {
        // 1…5: mean 3, s = √2.5, t(0.975, 4) = 2.776, half-width 2.776·√(2.5/5).
        let interval = S.tInterval([1, 2, 3, 4, 5])
        XCTAssertEqual(interval.mean, 3)
        XCTAssertEqual(interval.high - interval.mean, 2.776 * 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(interval.mean - interval.low, 2.776 * 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(interval.count, 5)
        let single = S.tInterval([0.7])
        XCTAssertEqual([single.low, single.mean, single.high], [0.7, 0.7, 0.7], "one seed: no interval")
        XCTAssertTrue(S.tInterval([]).mean.isNaN)
    }

    func testTQuantileTableAndExpansionAgree() {
        XCTAssertEqual(S.tQuantile975(degreesOfFreedom: 1), 12.706)
        XCTAssertEqual(S.tQuantile975(degreesOfFreedom: 30), 2.042)
        // Exact values: df 40 → 2.0211, df 120 → 1.9799; the expansion is continuous with the table.
        XCTAssertEqual(S.tQuantile975(degreesOfFreedom: 40), 2.0211, accuracy: 1e-3)
        XCTAssertEqual(S.tQuantile975(degreesOfFreedom: 120), 1.9799, accuracy: 1e-3)
        XCTAssertEqual(S.tQuantile975(degreesOfFreedom: 31), 2.0395, accuracy: 1e-3)
    }

    func testStepsToReachInterpolatesLinearly() {
        let c: AccuracyCurve = [(10, 0.5), (20, 0.7), (30, 0.65), (40, 0.9)]
        XCTAssertEqual(S.stepsToReach(c, target: 0.6)!, 15, accuracy: 1e-12)
        XCTAssertEqual(S.stepsToReach(c, target: 0.7)!, 20, accuracy: 1e-12)
        XCTAssertEqual(S.stepsToReach(c, target: 0.8)!, 30 + 10 * (0.15 / 0.25), accuracy: 1e-12, "first crossing after a dip")
        XCTAssertEqual(S.stepsToReach(c, target: 0.4), 10, "already reached at the first evaluation")
        XCTAssertNil(S.stepsToReach(c, target: 0.95))
    }

    func testMeanCurveKeepsSharedStepsOnly() {
        let mean = S.meanCurve([[(10, 0.2), (20, 0.4), (30, 0.6)], [(10, 0.4), (20, 0.6)]])
        XCTAssertEqual(mean.map(\.step), [10, 20])
        XCTAssertEqual(mean[0].accuracy, 0.3, accuracy: 1e-12)
        XCTAssertEqual(mean[1].accuracy, 0.5, accuracy: 1e-12)
    }

    /// The baseline climbs linearly to 0.9 at step 100; the learned arm twice as fast (0.9 at step 50): 2×.
    func testSpeedupOfATwiceAsFastArmIsTwo() throws {
        let baseline = (0..<5).map { _ in curve { 0.9 * $0 / 100 } }
        let learned = (0..<5).map { _ in curve { min(0.95, 0.9 * $0 / 50) } }
        let s = try XCTUnwrap(S.speedup(baseline: baseline, learned: learned))
        XCTAssertEqual(s.target, 0.9, accuracy: 1e-12)
        XCTAssertEqual(s.baselineSteps, 100, accuracy: 1e-9)
        XCTAssertEqual(s.learnedSteps, 50, accuracy: 1e-9)
        XCTAssertEqual(s.value, 2, accuracy: 1e-9)
        XCTAssertTrue(s.reached)
        let interval = try XCTUnwrap(S.bootstrapInterval(baseline: baseline, learned: learned, resamples: 200, seed: 1))
        XCTAssertEqual(interval.low, 2, accuracy: 1e-9, "identical seeds: the interval is the point")
        XCTAssertEqual(interval.high, 2, accuracy: 1e-9)
        XCTAssertEqual(S.verdict(s, low: interval.low, high: interval.high), .faster)
    }

    /// The baseline plateaus at 0.8 from step 40 on, so it needs 40 steps; the target is its final mean.
    func testTargetIsTheBaselinesOwnFinalMean() throws {
        let baseline = [curve { min(0.8, 0.02 * $0) }, curve { min(0.8, 0.02 * $0) }]
        let learned = [curve { min(0.85, 0.04 * $0) }]
        let s = try XCTUnwrap(S.speedup(baseline: baseline, learned: learned))
        XCTAssertEqual(s.baselineSteps, 40, accuracy: 1e-9)
        XCTAssertEqual(s.learnedSteps, 20, accuracy: 1e-9)
        XCTAssertEqual(s.value, 2, accuracy: 1e-9)
    }

    /// A learned arm that ends below the target is "slower": one evaluation interval past its end counts as
    /// its steps, so the speed-up is an upper bound below 1 (here 100 / 110).
    func testNeverReachingIsSlowerWithABoundBelowOne() throws {
        let baseline = [curve { 0.9 * $0 / 100 }]
        let learned = [curve { 0.8 * $0 / 100 }]
        let s = try XCTUnwrap(S.speedup(baseline: baseline, learned: learned))
        XCTAssertFalse(s.reached)
        XCTAssertEqual(s.learnedSteps, 110)
        XCTAssertEqual(s.value, 100.0 / 110, accuracy: 1e-12)
        XCTAssertEqual(S.verdict(s, low: 0.5, high: 1.5), .slower, "never reaching is slower whatever the interval")
    }

    /// Two arms drawn from the same noisy seeds: the speed-up is exactly 1 and the bootstrap interval, over
    /// resamples where either arm's mean comes out higher, contains 1: a tie.
    func testIdenticalNoisyArmsAreATieWhoseIntervalContainsOne() throws {
        let seeds = (0..<6).map { k in curve { 0.009 * $0 + 0.02 * (Double(k) - 2.5) / 2.5 } }
        let s = try XCTUnwrap(S.speedup(baseline: seeds, learned: seeds))
        XCTAssertEqual(s.value, 1, accuracy: 1e-12)
        let interval = try XCTUnwrap(S.bootstrapInterval(baseline: seeds, learned: seeds, resamples: 2000, seed: 7))
        XCTAssertLessThan(interval.low, 1)
        XCTAssertGreaterThan(interval.high, 1)
        XCTAssertEqual(S.verdict(s, low: interval.low, high: interval.high), .tie)
        let again = try XCTUnwrap(S.bootstrapInterval(baseline: seeds, learned: seeds, resamples: 2000, seed: 7))
        XCTAssertEqual(again.low, interval.low, "seeded: the same interval every time")
        XCTAssertEqual(again.high, interval.high)
    }

    /// A 2× faster arm with seed noise of ±1 point on both arms stays faster: the interval lies above 1 and
    /// around 2 (the target moves with the resampled baseline, so by a few percent).
    func testNoisyTwiceAsFastArmIsFasterWithAnIntervalAroundTwo() throws {
        let offset = { (k: Int) in 0.01 * (Double(k) - 2) / 2 }
        let baseline = (0..<5).map { k in curve { 0.009 * $0 + offset(k) } }
        let learned = (0..<5).map { k in curve { min(0.95, 0.018 * $0) + offset(4 - k) } }
        let s = try XCTUnwrap(S.speedup(baseline: baseline, learned: learned))
        XCTAssertEqual(s.value, 2, accuracy: 1e-9)
        let interval = try XCTUnwrap(S.bootstrapInterval(baseline: baseline, learned: learned, resamples: 2000, seed: 3))
        XCTAssertGreaterThan(interval.low, 1.8)
        XCTAssertLessThan(interval.high, 2.2)
        XCTAssertLessThanOrEqual(interval.low, 2)
        XCTAssertGreaterThanOrEqual(interval.high, 2)
        XCTAssertEqual(S.verdict(s, low: interval.low, high: interval.high), .faster)
        let reached = S.Speedup(value: 0.7, target: 0.9, baselineSteps: 70, learnedSteps: 100, reached: true)
        XCTAssertEqual(S.verdict(reached, low: 0.6, high: 0.9), .slower)
    }

    func testCurveMeanIsTheAverageOverTheEvaluationPoints() {
        // 0.1, 0.2, …, 1.0 at steps 10…100: mean 0.55.
        XCTAssertEqual(S.curveMean(curve { $0 / 100 }), 0.55, accuracy: 1e-12)
        XCTAssertTrue(S.curveMean([]).isNaN)
    }

    /// Two arms whose seeds share a large spread: unpaired intervals overlap, the paired one excludes 0.
    func testPairedDifferenceRemovesTheSpreadTheSeedsShare() throws {
        let baseline: [Int: Double] = [0: 0.80, 1: 0.90, 2: 0.70, 3: 0.85, 4: 0.75]
        let offsets: [Int: Double] = [0: 0.010, 1: 0.012, 2: 0.008, 3: 0.011, 4: 0.009]
        let learned = Dictionary(uniqueKeysWithValues: baseline.map { ($0.key, $0.value + offsets[$0.key]!) })
        let paired = try XCTUnwrap(S.pairedDifference(learned: learned, baseline: baseline))
        // Differences 0.010, 0.012, 0.008, 0.011, 0.009: mean 0.01, s = √(0.00001/4), half-width 2.776·s/√5.
        XCTAssertEqual(paired.mean, 0.01, accuracy: 1e-12)
        XCTAssertEqual(paired.high - paired.mean, 2.776 * (0.00001 / 4 / 5).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(paired.count, 5)
        XCTAssertGreaterThan(paired.low, 0)
        let (a, b) = (S.tInterval(Array(learned.values)), S.tInterval(Array(baseline.values)))
        XCTAssertLessThan(a.low, b.high, "unpaired, the two intervals overlap")
        // Pairs are by seed, not by position: a seed only one arm ran is left out.
        var extra = learned
        extra[7] = 0.1
        XCTAssertEqual(S.pairedDifference(learned: extra, baseline: baseline), paired)
        XCTAssertNil(S.pairedDifference(learned: [9: 0.5], baseline: baseline))
    }

    func testPercentileInterpolatesBetweenOrderStatistics() {
        XCTAssertEqual(S.percentile([1, 2, 3, 4, 5], 0.5), 3)
        XCTAssertEqual(S.percentile([1, 2, 3, 4, 5], 0.025), 1.1, accuracy: 1e-12)
        XCTAssertEqual(S.percentile([1, 2, 3, 4, 5], 1), 5)
    }
}
