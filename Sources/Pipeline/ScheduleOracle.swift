import Foundation
import Optimizers
import Seeding
import Training

/// One hand-parametrised per-layer-group step schedule on top of a base optimizer: a base rate, a warm-up
/// shared by every group, and per layer group (`LayerGroups`: first-conv, conv, hidden, head) a multiplier and
/// a decay shape (constant, cosine, linear).
public struct OracleSchedule: Sendable, Equatable {
    public var learningRate: Double
    public var warmupSteps: Int
    public var multipliers: [String: Double]
    public var shapes: [String: String]

    /// Its settings in a fine-tune (the head multiplier lives in `multipliers`).
    func apply(optimizer: OptimizerKind, weightDecay: Double, to t: inout TrainingConfiguration) {
        t.optimizer = TrainingOptimizer(optimizer)
        t.weightDecay = weightDecay
        t.learningRate = learningRate
        t.schedule = .constant
        t.warmupSteps = warmupSteps
        t.headLearningRateMultiplier = 1
        t.groupMultipliers = multipliers
        t.groupSchedules = shapes
    }

    /// "lr 0.003, warm-up 10; first-conv 0.5 cosine, conv 1 linear, …" for the report.
    public var summary: String {
        "lr \(PipelineFormat.compact(learningRate)), warm-up \(warmupSteps); "
            + LayerGroups.names.map { "\($0) ×\(PipelineFormat.compact(multipliers[$0] ?? 1)) \(shapes[$0] ?? "constant")" }
            .joined(separator: ", ")
    }
}

/// The schedule oracle: a seeded random search over `OracleSchedule`s, the strongest thing a per-layer
/// schedule without learning can do on this task and the line L3RS is judged against. Configuration 0 is the
/// best tuned baseline itself (its rate, head multiplier, warm-up and decay in every group), so the search
/// can only improve on it on the held-out split; the others draw
/// - the base rate log-uniformly within a factor √10 of the baseline's tuned rate,
/// - the warm-up from {0, H/20, H/10, H/5} steps,
/// - each group's multiplier log-uniformly in [0.1, 10] (two significant digits),
/// - each group's decay shape from constant, cosine and linear.
public enum ScheduleOracle {
    public static let shapes = ["constant", "cosine", "linear"]

    public static func schedules(count: Int, seed: UInt64, horizon: Int, baseline: PipelineBaseline, learningRate: Double,
                                 warmupSteps baselineWarmup: Int) -> [OracleSchedule] {
        guard count > 0 else { return [] }
        let baselineShape = switch baseline.schedule {
        case .constant: "constant"
        case .linear: "linear"
        case .cosine, .warmupCosine: "cosine"
        }
        var list = [OracleSchedule(
            learningRate: learningRate, warmupSteps: baselineWarmup,
            multipliers: Dictionary(uniqueKeysWithValues: LayerGroups.names.map { ($0, $0 == LayerGroups.head ? baseline.headMultiplier : 1) }),
            shapes: Dictionary(uniqueKeysWithValues: LayerGroups.names.map { ($0, baselineShape) }))]
        var generator = SplitMix64(seed: seed, stream: 0x4F52_4143_4C45) // "ORACLE"
        func uniform() -> Double { Double(generator.next() >> 11) * 0x1p-53 }
        let warmups = [0, horizon / 20, horizon / 10, horizon / 5]
        while list.count < count {
            let rate = significant(learningRate * pow(10, uniform() - 0.5))
            let warmup = warmups[generator.uniform(below: warmups.count)]
            var multipliers: [String: Double] = [:], shapes: [String: String] = [:]
            for group in LayerGroups.names {
                multipliers[group] = significant(pow(10, 2 * uniform() - 1))
                shapes[group] = Self.shapes[generator.uniform(below: Self.shapes.count)]
            }
            list.append(OracleSchedule(learningRate: rate, warmupSteps: warmup, multipliers: multipliers, shapes: shapes))
        }
        return list
    }

    /// Two significant digits, so configurations read (and round-trip through YAML) as short numbers.
    static func significant(_ value: Double) -> Double {
        Double(String(format: "%.2g", value)) ?? value
    }
}
