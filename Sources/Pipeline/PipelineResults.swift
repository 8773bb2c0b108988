import Foundation
import Reports

/// The comparison in numbers, read from the evaluation runs' metrics: per condition and arm the seeds' accuracy
/// curves and final test accuracies, their means and 95% intervals, the strongest baseline, and every other
/// arm's speed-up over it with its bootstrap interval and verdict. report.md and report.json both come from
/// here, so they cannot disagree.
struct PipelineResults {
    struct Arm {
        let condition: PipelineCondition
        let label: String
        let kind: PipelinePlan.ArmKind
        /// One per seed, in seed order.
        let seeds: [Int]
        let metrics: [StageMetrics]
        let curves: [AccuracyCurve]
        let finals: [Double]
        var final: ComparisonStatistics.Interval { ComparisonStatistics.tInterval(finals) }
        var meanCurve: AccuracyCurve { ComparisonStatistics.meanCurve(curves) }
        /// Final test accuracy by seed (seeds without one left out).
        var finalsBySeed: [Int: Double] {
            Dictionary(zip(seeds, metrics).compactMap { seed, run in run.final("test_accuracy").map { (seed, $0) } },
                       uniquingKeysWith: { _, last in last })
        }
        /// Mean accuracy over the curve's points by seed.
        var curveMeansBySeed: [Int: Double] {
            Dictionary(zip(seeds, curves).map { ($0, ComparisonStatistics.curveMean($1)) }, uniquingKeysWith: { _, last in last })
        }

        /// The 95% t-interval over seeds at every step all seeds share.
        var band: [(x: Double, low: Double, high: Double)] {
            meanCurve.map { point in
                let values = curves.compactMap { curve in curve.first { $0.step == point.step }?.accuracy }
                let interval = ComparisonStatistics.tInterval(values)
                return (point.step, interval.low, interval.high)
            }
        }
    }

    struct Comparison {
        let arm: Arm
        let speedup: ComparisonStatistics.Speedup
        let low: Double
        let high: Double
        /// Per-seed differences arm − strongest baseline: of the final test accuracy, and of the mean accuracy over
        /// the curve; t-intervals over the shared seeds.
        let pairedFinal: ComparisonStatistics.Interval?
        let pairedCurveMean: ComparisonStatistics.Interval?
        var verdict: ComparisonStatistics.Verdict { ComparisonStatistics.verdict(speedup, low: low, high: high) }
    }

    /// A learned arm against the schedule oracle, paired by seed (arm − oracle): where the oracle shows no room
    /// over the baselines, the line L3RS is judged against.
    struct OraclePairing {
        let arm: Arm
        let pairedFinal: ComparisonStatistics.Interval?
        let pairedCurveMean: ComparisonStatistics.Interval?
    }

    struct Condition {
        let condition: PipelineCondition
        let arms: [Arm]
        /// The baseline arm with the best mean final test accuracy.
        let strongest: Arm?
        /// Every learned and oracle arm against the strongest baseline.
        let comparisons: [Comparison]
        /// Every learned arm against the oracle, where the condition ran one.
        let againstOracle: [OraclePairing]

        func comparison(_ label: String) -> Comparison? { comparisons.first { $0.arm.label == label } }
    }

    let conditions: [Condition]

    init(plan: PipelinePlan, runs: [PipelinePlan.EvaluationRun]) throws {
        let c = plan.configuration
        var conditions: [Condition] = []
        for (index, condition) in plan.conditions.enumerated() {
            let mine = runs.filter { $0.condition == condition }
            let labels = orderedUnique(mine.map(\.arm))
            let arms = try labels.map { label -> Arm in
                let seeds = mine.filter { $0.arm == label }.sorted { $0.seed < $1.seed }
                let metrics = try seeds.map { try StageMetrics(folder: $0.stage.folder) }
                return Arm(condition: condition, label: label, kind: seeds[0].kind, seeds: seeds.map(\.seed), metrics: metrics,
                           curves: metrics.map { $0.points(plan.curveKey).map { (step: $0.x, accuracy: $0.y) } },
                           finals: metrics.compactMap { $0.final("test_accuracy") })
            }
            let strongest = arms.filter { $0.kind == .baseline }.max { $0.final.mean < $1.final.mean }
            var comparisons: [Comparison] = []
            if let strongest {
                for arm in arms where arm.kind != .baseline {
                    guard let speedup = ComparisonStatistics.speedup(baseline: strongest.curves, learned: arm.curves) else { continue }
                    // A seed per condition and arm, so each interval is reproducible on its own.
                    let seed = c.seed &+ UInt64(index) &* 1_000 &+ UInt64(comparisons.count)
                    let interval = ComparisonStatistics.bootstrapInterval(baseline: strongest.curves, learned: arm.curves,
                                                                          resamples: c.bootstrapResamples, seed: seed)
                    comparisons.append(Comparison(
                        arm: arm, speedup: speedup, low: interval?.low ?? speedup.value, high: interval?.high ?? speedup.value,
                        pairedFinal: ComparisonStatistics.pairedDifference(learned: arm.finalsBySeed, baseline: strongest.finalsBySeed),
                        pairedCurveMean: ComparisonStatistics.pairedDifference(learned: arm.curveMeansBySeed,
                                                                               baseline: strongest.curveMeansBySeed)))
                }
            }
            let againstOracle = arms.first { $0.kind == .oracle }.map { oracle in
                arms.filter { $0.kind == .learned }.map { arm in
                    OraclePairing(arm: arm,
                                  pairedFinal: ComparisonStatistics.pairedDifference(learned: arm.finalsBySeed, baseline: oracle.finalsBySeed),
                                  pairedCurveMean: ComparisonStatistics.pairedDifference(learned: arm.curveMeansBySeed,
                                                                                         baseline: oracle.curveMeansBySeed))
                }
            } ?? []
            conditions.append(Condition(condition: condition, arms: arms, strongest: strongest, comparisons: comparisons,
                                        againstOracle: againstOracle))
        }
        self.conditions = conditions
    }

    /// report.json: for every condition the strongest baseline, L3RS's speed-up over it with its interval and
    /// verdict (and on the seen data the oracle's), and every arm's final test accuracy with its interval; `run`
    /// (the run that wrote the report) under "run" when given.
    func json(plan: PipelinePlan, run: RunMetadata? = nil) throws -> Data {
        let c = plan.configuration
        func number(_ value: Double?) -> Any { value.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        /// A comparison's speed-up, interval, verdict and paired differences, as both an arm and a condition hold them.
        func values(_ comparison: Comparison) -> [String: Any] {
            var values: [String: Any] = [
                "speedup": number(comparison.speedup.value), "speedup_low": number(comparison.low),
                "speedup_high": number(comparison.high), "verdict": comparison.verdict.rawValue,
                "reaches_target": comparison.speedup.reached, "paired_seeds": comparison.pairedFinal?.count ?? 0,
            ]
            add(comparison.pairedFinal, comparison.pairedCurveMean, suffix: "", to: &values)
            return values
        }
        /// The paired differences' means and intervals under `paired_final_difference` and
        /// `paired_curve_mean_difference` (+ `suffix`, + `_low` / `_high`).
        func add(_ final: ComparisonStatistics.Interval?, _ curveMean: ComparisonStatistics.Interval?, suffix: String,
                 to values: inout [String: Any]) {
            for (key, interval) in [("paired_final_difference", final), ("paired_curve_mean_difference", curveMean)] {
                values[key + suffix] = number(interval?.mean)
                values[key + suffix + "_low"] = number(interval?.low)
                values[key + suffix + "_high"] = number(interval?.high)
            }
        }
        var conditions: [String: Any] = [:]
        for result in self.conditions {
            var entry: [String: Any] = ["steps": result.condition.steps, "data": result.condition.data,
                                        "best_baseline": result.strongest?.label ?? NSNull()]
            var arms: [String: Any] = [:]
            for arm in result.arms {
                let final = arm.final
                var entries: [String: Any] = [
                    "kind": arm.kind.rawValue, "seeds": arm.metrics.count, "final_accuracy": number(final.mean),
                    "final_accuracy_low": number(final.low), "final_accuracy_high": number(final.high),
                ]
                if let comparison = result.comparison(arm.label) {
                    entries.merge(values(comparison)) { _, new in new }
                }
                if let pairing = result.againstOracle.first(where: { $0.arm.label == arm.label }) {
                    add(pairing.pairedFinal, pairing.pairedCurveMean, suffix: "_vs_oracle", to: &entries)
                }
                arms[arm.label] = entries
            }
            entry["arms"] = arms
            if let comparison = result.comparison(PipelinePlan.learnedLabel) {
                entry["target_accuracy"] = number(comparison.speedup.target)
                entry["baseline_steps"] = number(comparison.speedup.baselineSteps)
                entry["learned_steps"] = number(comparison.speedup.learnedSteps)
                entry.merge(values(comparison)) { _, new in new }
            }
            if let oracle = result.comparison(PipelinePlan.oracleLabel) {
                entry["oracle_speedup"] = number(oracle.speedup.value)
                entry["oracle_speedup_low"] = number(oracle.low)
                entry["oracle_speedup_high"] = number(oracle.high)
                entry["oracle_verdict"] = oracle.verdict.rawValue
            }
            conditions[result.condition.name] = entry
        }
        var document: [String: Any] = [
            "name": c.name, "seeds": c.seeds, "eval_every": c.evalEvery, "curve_images": c.curveImages,
            "bootstrap_resamples": c.bootstrapResamples, "curve_key": plan.curveKey,
            "condition_order": plan.conditions.map(\.name), "conditions": conditions,
        ]
        if let run { document["run"] = run.json }
        return try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
    }
}
