/// One evaluation condition of docs/method.md §6: which data, which backbone, how many steps.
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
}
