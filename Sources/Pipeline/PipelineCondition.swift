/// One evaluation condition of method.md §6: which data, which backbone, how many steps.
public struct PipelineCondition: Sendable, Equatable {
    /// seen, unseen, horizon-2x, ..., another-init: the folder eval-NAME and the table column.
    public var name: String
    /// What the condition tests, for the report.
    public var title: String
    public var data: String
    /// Fine-tuning steps.
    public var steps: Int
    /// Fine-tune from the backbone pretrained in this pipeline instead of the imported one.
    public var usesPretrainedHere: Bool
    /// Every baseline runs here (else only the best tuned one, next to L3RS).
    public var allBaselines: Bool

    /// The steps of the fixed-step accuracy table: half-way and the end.
    public var reportedSteps: [Int] { [steps / 2, steps] }
}
