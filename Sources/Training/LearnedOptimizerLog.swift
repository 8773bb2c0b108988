import LearnedOptimizer
import Reports

/// One line of runs/NAME/l3rs.jsonl: λ_l and μ_l,p of a learned optimizer for every layer at one step, so
/// the per-layer schedules and base-optimizer preferences can be plotted over time (docs/method.md §7). Keys:
/// "lambda/<layer>" and "mu/<layer>/<base optimizer>".
public enum LearnedOptimizerLog {
    public static func record(step: Int, rule: L3RSUpdateRule) -> MetricsRecord {
        record(step: step, optimizer: rule.optimizer, stepSizes: rule.lastStepSizes,
               mixingWeights: rule.lastMixingWeights)
    }

    /// A record from any per-layer λ and μ (the meta-trainer logs truncation means).
    public static func record(step: Int, optimizer: L3RSOptimizer, stepSizes: [Float], mixingWeights: [Float],
                              key: String = "step") -> MetricsRecord {
        let bases = optimizer.configuration.baseOptimizers.map(\.rawValue)
        var values: [(String, Double?)] = [(key, Double(step))]
        for (l, layer) in optimizer.layers.enumerated() {
            values.append(("lambda/\(layer.name)", Double(stepSizes[l])))
        }
        for (l, layer) in optimizer.layers.enumerated() {
            for (p, base) in bases.enumerated() {
                values.append(("mu/\(layer.name)/\(base)", Double(mixingWeights[l * bases.count + p])))
            }
        }
        return MetricsRecord(values)
    }
}
