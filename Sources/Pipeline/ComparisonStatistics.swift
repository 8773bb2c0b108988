import Foundation
import Seeding

/// An accuracy curve of one run: (step, accuracy) at its evaluation points, in step order.
public typealias AccuracyCurve = [(step: Double, accuracy: Double)]

/// The pipeline's ruler as pure functions: mean and 95% t-interval over seeds, mean curves, steps to reach a
/// target by linear interpolation, the speed-up of one arm over another with a bootstrap interval over seeds,
/// and the verdict. Pure so that every rule is pinned by tests on synthetic curves with known answers.
public enum ComparisonStatistics {
    /// A mean over seeds with its two-sided 95% t-interval (low = high = mean for fewer than two values).
    public struct Interval: Sendable, Equatable {
        public var mean: Double
        public var low: Double
        public var high: Double
        public var count: Int
    }

    /// mean ± t(0.975, n−1)·s/√n, s the sample standard deviation.
    public static func tInterval(_ values: [Double]) -> Interval {
        let n = values.count
        guard n > 0 else { return Interval(mean: .nan, low: .nan, high: .nan, count: 0) }
        let mean = values.reduce(0, +) / Double(n)
        guard n > 1 else { return Interval(mean: mean, low: mean, high: mean, count: 1) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        let half = tQuantile975(degreesOfFreedom: n - 1) * (variance / Double(n)).squareRoot()
        return Interval(mean: mean, low: mean - half, high: mean + half, count: n)
    }

    /// Student's t 97.5% quantile: tabulated for 1–30 degrees of freedom, Cornish–Fisher expansion above
    /// (within 1e-3 of the exact value there).
    public static func tQuantile975(degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1, "tQuantile975: degrees of freedom must be positive, got \(df)")
        let table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
                     2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
                     2.045, 2.042]
        if df <= table.count { return table[df - 1] }
        let z = 1.959964, v = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
    }

    /// The mean over seeds at every step all curves share, in the first curve's order.
    public static func meanCurve(_ curves: [AccuracyCurve]) -> AccuracyCurve {
        guard let first = curves.first else { return [] }
        let tables = curves.map { Dictionary($0.map { ($0.step, $0.accuracy) }, uniquingKeysWith: { _, last in last }) }
        return first.compactMap { point in
            let values = tables.compactMap { $0[point.step] }
            guard values.count == curves.count else { return nil }
            return (point.step, values.reduce(0, +) / Double(values.count))
        }
    }

    /// The step at which `curve` first reaches `target`, linearly interpolated between the last point below it
    /// and the first at or above it. A curve whose first point already reaches the target returns that point's
    /// step (no step-0 evaluation exists, so this is an upper bound); one that never reaches it returns nil.
    public static func stepsToReach(_ curve: AccuracyCurve, target: Double) -> Double? {
        guard let index = curve.firstIndex(where: { $0.accuracy >= target }) else { return nil }
        guard index > 0 else { return curve[0].step }
        let (a, b) = (curve[index - 1], curve[index])
        guard b.accuracy > a.accuracy else { return b.step }
        return a.step + (target - a.accuracy) / (b.accuracy - a.accuracy) * (b.step - a.step)
    }

    /// One speed-up: the baseline's mean curve sets the target (its own final mean accuracy) and the steps it
    /// needs to reach it; `speedup` = baselineSteps / learnedSteps on the learned arm's mean curve.
    /// When the learned arm never reaches the target, learnedSteps counts one evaluation interval past its last
    /// point (a lower bound on the steps it needs), so the speed-up is an upper bound below 1 and `reached` is
    /// false.
    public struct Speedup: Sendable, Equatable {
        public var value: Double
        public var target: Double
        public var baselineSteps: Double
        public var learnedSteps: Double
        public var reached: Bool
    }

    public static func speedup(baseline: [AccuracyCurve], learned: [AccuracyCurve]) -> Speedup? {
        let base = meanCurve(baseline), mine = meanCurve(learned)
        guard let target = base.last?.accuracy, target.isFinite, let last = mine.last,
              let baselineSteps = stepsToReach(base, target: target) else { return nil }
        if let steps = stepsToReach(mine, target: target) {
            return Speedup(value: baselineSteps / max(steps, 1e-12), target: target, baselineSteps: baselineSteps,
                           learnedSteps: steps, reached: true)
        }
        let interval = mine.count > 1 ? last.step - mine[mine.count - 2].step : max(last.step, 1)
        let bound = last.step + interval
        return Speedup(value: baselineSteps / bound, target: target, baselineSteps: baselineSteps, learnedSteps: bound,
                       reached: false)
    }

    /// The 2.5% and 97.5% percentiles of the speed-up over `resamples` bootstrap resamples: each draws the
    /// baseline's and the learned arm's seeds with replacement (independently, each arm its own count) and
    /// recomputes the speed-up, target included, from the resampled mean curves. Seeded, so reproducible.
    public static func bootstrapInterval(baseline: [AccuracyCurve], learned: [AccuracyCurve], resamples: Int = 2000,
                                         seed: UInt64 = 0) -> (low: Double, high: Double)? {
        guard !baseline.isEmpty, !learned.isEmpty, resamples > 0 else { return nil }
        var generator = SplitMix64(seed: seed, stream: 0x4253) // "BS"
        var values: [Double] = []
        values.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let b = baseline.indices.map { _ in baseline[generator.uniform(below: baseline.count)] }
            let l = learned.indices.map { _ in learned[generator.uniform(below: learned.count)] }
            if let s = speedup(baseline: b, learned: l) { values.append(s.value) }
        }
        guard !values.isEmpty else { return nil }
        values.sort()
        return (percentile(values, 0.025), percentile(values, 0.975))
    }

    /// Linear interpolation between order statistics (the usual "type 7" percentile) of sorted values.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty && p >= 0 && p <= 1, "percentile: needs values and p in [0, 1]")
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (position - Double(lower)) * (sorted[upper] - sorted[lower])
    }

    /// The mean accuracy over a curve's evaluation points: with evenly spaced points, the area under the accuracy
    /// curve over its length. It says how far ahead an arm is during the run, which the final-accuracy speed-up
    /// cannot see when both arms end level. NaN for an empty curve.
    public static func curveMean(_ curve: AccuracyCurve) -> Double {
        curve.isEmpty ? .nan : curve.reduce(0) { $0 + $1.accuracy } / Double(curve.count)
    }

    /// The t-interval of the per-seed differences learned − baseline over the seeds both arms ran (arms of one
    /// condition share each seed's head initialisation and data order, so the difference removes the seed-to-seed
    /// spread both arms share); nil when no seed is shared. Values are keyed by seed.
    public static func pairedDifference(learned: [Int: Double], baseline: [Int: Double]) -> Interval? {
        let differences = learned.keys.sorted().compactMap { seed in
            baseline[seed].flatMap { base in learned[seed].map { $0 - base } }
        }.filter(\.isFinite)
        return differences.isEmpty ? nil : tInterval(differences)
    }

    public enum Verdict: String, Sendable {
        case faster, tie, slower
    }

    /// slower when the learned arm never reaches the target; otherwise tie when the interval contains 1,
    /// faster when it lies above 1, slower when below.
    public static func verdict(_ speedup: Speedup, low: Double, high: Double) -> Verdict {
        guard speedup.reached else { return .slower }
        if low > 1 { return .faster }
        if high < 1 { return .slower }
        return .tie
    }
}
