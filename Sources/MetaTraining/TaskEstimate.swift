import LearnedOptimizer

/// One task's contribution to a meta-step, whichever estimator produced it: the global meta-gradient and
/// meta-loss of that task's truncation (identical on every rank), and the λ and μ it ran with.
public struct TaskEstimate: Sendable {
    /// ∂(metaLoss + stepSizePenalty)/∂φ, aligned with `MetaParameters.values`.
    public var gradient: [Float]
    public var metaLoss: Double
    public var stepSizePenalty: Double
    /// λ_l averaged over the truncation, per layer, and μ_l,p row-major [layer, base].
    public var meanStepSizes: [Float]
    public var meanMixingWeights: [Float]

    /// Whether every entry of the gradient is finite (the meta-optimizer skips the step otherwise).
    public var isFinite: Bool { MetaGradientCheck.isFinite(gradient) }

    /// The meta-batch average of several tasks (a single task is returned unchanged, bit for bit).
    static func mean(_ estimates: [TaskEstimate]) -> TaskEstimate {
        precondition(!estimates.isEmpty, "TaskEstimate.mean: no tasks")
        guard estimates.count > 1 else { return estimates[0] }
        let scale = 1 / Float(estimates.count)
        func average(_ key: KeyPath<TaskEstimate, [Float]>) -> [Float] {
            var sum = [Float](repeating: 0, count: estimates[0][keyPath: key].count)
            for estimate in estimates {
                for (index, value) in estimate[keyPath: key].enumerated() { sum[index] += value }
            }
            return sum.map { $0 * scale }
        }
        let count = Double(estimates.count)
        return TaskEstimate(gradient: average(\.gradient),
                            metaLoss: estimates.reduce(0) { $0 + $1.metaLoss } / count,
                            stepSizePenalty: estimates.reduce(0) { $0 + $1.stepSizePenalty } / count,
                            meanStepSizes: average(\.meanStepSizes), meanMixingWeights: average(\.meanMixingWeights))
    }
}
