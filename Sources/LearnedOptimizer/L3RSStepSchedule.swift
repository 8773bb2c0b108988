import Optimizers

/// m(k; H), the hand-designed schedule λ0 follows over a run of H steps before the MLP's factor:
/// λ_l,k = λ0·m(k; H)·exp(o_λ,l,k) (docs/method.md §1). The same multiplier the baselines use
/// (`LearningRateSchedule`): warm-up over round(warmupFraction·H) steps for warmup-cosine and linear, decay to 0
/// at H, so with a tuned baseline's schedule and `directionScale` adam the untrained rule is that baseline.
public struct L3RSStepSchedule: Sendable, Equatable {
    public var kind: ScheduleKind
    public var warmupFraction: Double

    public init(kind: ScheduleKind = .constant, warmupFraction: Double = 0) {
        self.kind = kind
        self.warmupFraction = warmupFraction
    }

    /// m(k; H); 1 under constant, whatever H. Any other kind needs the run's horizon (H > 0).
    public func multiplier(step: Int, horizon: Int) -> Double {
        guard kind != .constant else { return 1 }
        precondition(horizon > 0, "L3RS: baseSchedule \(kind.rawValue) needs the run's horizon (L3RSState.horizon)")
        let warmup = kind == .warmupCosine || kind == .linear ? Int((warmupFraction * Double(horizon)).rounded()) : 0
        // The baselines' own schedule builder, so both read the same multiplier.
        let schedule = try! OptimizerConfiguration(optimizer: .adam, learningRate: 1, schedule: kind, warmupSteps: warmup,
                                                   totalSteps: horizon).makeSchedule()
        return schedule.multiplier(atStep: step)
    }
}
