import Foundation

/// How numbers read from the runs' metrics are written into folder names and report cells.
enum PipelineFormat {
    /// A short, exact-enough number for names: 0.001 → "0.001", 10 → "10", 3e-05 → "3e-05".
    static func compact(_ value: Double) -> String {
        var text = String(format: "%g", value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// An accuracy in [0, 1] as a percentage with two decimals.
    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.2f%%", 100 * value)
    }

    static func seconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "—" }
        return String(format: "%.1f s", value)
    }
}
