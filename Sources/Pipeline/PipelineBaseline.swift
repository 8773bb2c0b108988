import Optimizers

/// One hand-designed baseline of the protocol: a base optimizer, a schedule and a head learning-rate
/// multiplier; its learning rate is tuned on the optimizer's grid.
public struct PipelineBaseline: Sendable, Hashable {
    public var optimizer: OptimizerKind
    public var schedule: ScheduleKind
    public var headMultiplier: Double

    /// The name in folders and tables: `adam-cosine`, `momentum-constant-head10`.
    public var label: String {
        let head = headMultiplier == 1 ? "" : "-head" + PipelineFormat.compact(headMultiplier)
        return "\(optimizer.rawValue)-\(schedule.rawValue)\(head)"
    }
}
