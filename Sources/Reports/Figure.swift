/// A plot a report shows: a title (the Markdown link's text) and a self-contained SVG document (inline in HTML,
/// a file beside the Markdown).
public protocol Figure: Sendable {
    var title: String { get }
    func svg() -> String
}

extension LinePlot: Figure {}
