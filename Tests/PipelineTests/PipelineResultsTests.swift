import Foundation
import TestSupport
import XCTest
@testable import Pipeline

/// report.json from synthetic evaluation runs with known answers: in every condition L3RS climbs twice as fast
/// as the baseline (speed-up 2, faster), the oracle is the baseline's twin (speed-up 1, tie), and the per-arm
/// final accuracies are the seeds' means; paired by seed, the differences are the same for every seed (the seeds
/// shift both arms alike), so their intervals have zero width: a pairing by anything but the seed would not.
final class PipelineResultsTests: ScratchFolderTestCase {
    override class var scratchPrefix: String { "l3rs-results" }
    var runs: URL { folder }

    func testReportJSONHoldsEveryConditionsVerdictWithKnownAnswers() throws {
        var c = PipelineConfiguration()
        c.name = "synthetic"
        c.runsDirectory = runs.path
        c.seeds = 3
        c.ablations = []
        c.evaluatedBaselines = 1
        c.oracleConfigurations = 2
        c.curveImages = 100
        c.bootstrapResamples = 500
        try c.validate()
        let plan = PipelinePlan(c)
        let tuning = PipelineTuning(grid: [:], learningRates: Dictionary(uniqueKeysWithValues: plan.baselines.map { ($0, 1e-3) }),
                                    best: plan.baselines[0], ranking: plan.baselines)
        let oracle = plan.oracleStages(tuning)[1].schedule
        let evaluation = plan.evaluationStages(tuning: Dictionary(uniqueKeysWithValues: plan.horizons.map { ($0, tuning) }), oracle: oracle)

        // Curves: the baseline reaches 0.9 at the last step, L3RS at half of it; seed k shifts a curve by
        // (k − 1)·0.002. The final test accuracy is the last curve point + 0.01.
        var finals: [String: [Double]] = [:]
        for run in evaluation {
            let steps = Double(run.condition.steps), offset = 0.002 * Double(run.seed - 1)
            let rate = run.kind == .learned ? 2 * 0.9 / steps : 0.9 / steps
            var lines: [String] = []
            for step in stride(from: c.evalEvery, through: run.condition.steps, by: c.evalEvery) {
                var record: [String: Any] = ["step": step, "loss": 1.0, "curve_accuracy": min(0.95, rate * Double(step)) + offset]
                if step == run.condition.steps {
                    let final = min(0.95, rate * Double(step)) + offset + 0.01
                    record["test_accuracy"] = final
                    finals["\(run.condition.name)/\(run.arm)", default: []].append(final)
                }
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
            }
            try FileManager.default.createDirectory(at: run.stage.folder, withIntermediateDirectories: true)
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: run.stage.folder.appendingPathComponent("metrics.jsonl"))
        }

        let results = try PipelineResults(plan: plan, runs: evaluation)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: results.json(plan: plan)) as? [String: Any])
        XCTAssertEqual(json["seeds"] as? Int, 3)
        XCTAssertEqual(json["condition_order"] as? [String], ["seen", "unseen", "horizon-2x", "horizon-4x", "another-init"])
        let conditions = try XCTUnwrap(json["conditions"] as? [String: [String: Any]])
        XCTAssertEqual(conditions.count, 5)
        for (name, condition) in conditions {
            XCTAssertEqual(condition["best_baseline"] as? String, plan.baselines[0].label, name)
            XCTAssertEqual(try XCTUnwrap(condition["speedup"] as? Double, name), 2, accuracy: 1e-9, name)
            XCTAssertEqual(try XCTUnwrap(condition["target_accuracy"] as? Double, name), 0.9, accuracy: 1e-12, name)
            let (low, high) = try (XCTUnwrap(condition["speedup_low"] as? Double), XCTUnwrap(condition["speedup_high"] as? Double))
            XCTAssertTrue(low > 1.9 && high < 2.1 && low <= 2 && high >= 2, "\(name): [\(low), \(high)]")
            XCTAssertEqual(condition["verdict"] as? String, "faster", name)
            XCTAssertEqual(condition["reaches_target"] as? Bool, true, name)
            // Paired by seed: L3RS ends at min(0.95, 1.8) + 0.01, the baseline at 0.9 + 0.01 (same seed shift).
            let points = Double(plan.conditions.first { $0.name == name }!.steps / c.evalEvery)
            let curveDifference = stride(from: 1.0, through: points, by: 1).reduce(0) { $0 + min(0.95, 1.8 * $1 / points) - 0.9 * $1 / points } / points
            for (key, expected) in [("paired_final_difference", 0.05), ("paired_curve_mean_difference", curveDifference)] {
                let mean = try XCTUnwrap(condition[key] as? Double, "\(name) \(key)")
                XCTAssertEqual(mean, expected, accuracy: 1e-9, "\(name) \(key)")
                XCTAssertEqual(try XCTUnwrap(condition[key + "_low"] as? Double), mean, accuracy: 1e-9, "\(name) \(key): zero width")
                XCTAssertEqual(try XCTUnwrap(condition[key + "_high"] as? Double), mean, accuracy: 1e-9, "\(name) \(key): zero width")
            }
            XCTAssertEqual(condition["paired_seeds"] as? Int, 3, name)
            let arms = try XCTUnwrap(condition["arms"] as? [String: [String: Any]], name)
            for (arm, values) in arms {
                let seeds = try XCTUnwrap(finals["\(name)/\(arm)"])
                let final = try XCTUnwrap(values["final_accuracy"] as? Double)
                XCTAssertEqual(final, seeds.reduce(0, +) / 3, accuracy: 1e-12, "\(name)/\(arm)")
                // Three seeds 0.002 apart: s = 0.002, half-width t(0.975, 2)·s/√3.
                XCTAssertEqual(try XCTUnwrap(values["final_accuracy_high"] as? Double) - final, 4.303 * 0.002 / 3.0.squareRoot(), accuracy: 1e-9)
                XCTAssertEqual(values["seeds"] as? Int, 3)
            }
            if name == "seen" {
                XCTAssertEqual(try XCTUnwrap(condition["oracle_speedup"] as? Double), 1, accuracy: 1e-9)
                XCTAssertEqual(condition["oracle_verdict"] as? String, "tie")
                XCTAssertEqual(arms["oracle"]?["kind"] as? String, "oracle")
                XCTAssertEqual(try XCTUnwrap(arms["oracle"]?["paired_final_difference"] as? Double), 0, accuracy: 1e-12)
                XCTAssertEqual(try XCTUnwrap(arms["oracle"]?["paired_curve_mean_difference_high"] as? Double), 0, accuracy: 1e-12)
                // L3RS against the oracle (the baseline's twin): the same differences as against the baseline.
                let l3rs = try XCTUnwrap(arms["l3rs"])
                for (key, expected) in [("paired_final_difference_vs_oracle", 0.05), ("paired_curve_mean_difference_vs_oracle", curveDifference)] {
                    XCTAssertEqual(try XCTUnwrap(l3rs[key] as? Double, key), expected, accuracy: 1e-9, key)
                    XCTAssertEqual(try XCTUnwrap(l3rs[key + "_low"] as? Double, key), expected, accuracy: 1e-9, "\(key): zero width")
                }
                XCTAssertNil(arms["oracle"]?["paired_final_difference_vs_oracle"], "only learned arms are paired against the oracle")
                XCTAssertNil(arms[plan.baselines[0].label]?["paired_final_difference_vs_oracle"])
            } else {
                XCTAssertNil(condition["oracle_speedup"], name)
                XCTAssertNil((arms["l3rs"])?["paired_final_difference_vs_oracle"], "\(name): no oracle ran")
            }
        }
    }
}
