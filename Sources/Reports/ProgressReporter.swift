import Foundation

/// Progress of long work on rank 0: on a terminal one line rewritten in place (step/total, loss, accuracy,
/// images/s, ETA); in a batch job (output not a terminal) plain lines at a fixed interval, so logs of
/// Slurm and PBS jobs stay readable.
public final class ProgressReporter {
    public let total: Int
    public let label: String
    private let interactive: Bool
    private let plainInterval: TimeInterval
    private let start = Date()
    private var lastPlain = Date.distantPast
    private var startStep: Int?
    private var wroteInteractive = false

    /// Whether progress may rewrite one line in place: only for a process on a terminal with no launcher.
    /// Open MPI gives every rank a pseudo-terminal even when mpirun's own output goes to a batch log, so under
    /// a launcher (mpirun, srun, a PMI launcher) the plain lines are used. L3RS_PROGRESS=line forces the
    /// in-place line, L3RS_PROGRESS=plain plain lines.
    public static var standardOutputIsInteractive: Bool {
        let environment = ProcessInfo.processInfo.environment
        switch environment["L3RS_PROGRESS"] {
        case "line": return true
        case "plain": return false
        default:
            let launched = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
            return isatty(STDOUT_FILENO) == 1 && !launched
        }
    }

    /// - Parameters:
    ///   - interactive: nil asks `standardOutputIsInteractive`.
    ///   - plainInterval: seconds between plain lines when not interactive.
    public init(total: Int, label: String, interactive: Bool? = nil, plainInterval: TimeInterval = 10) {
        self.total = total
        self.label = label
        self.interactive = interactive ?? Self.standardOutputIsInteractive
        self.plainInterval = plainInterval
    }

    /// Text of the line for `step` with the given named values.
    public func line(step: Int, values: [(String, String)], imagesPerSecond: Double?) -> String {
        if startStep == nil { startStep = step - 1 }
        let elapsed = Date().timeIntervalSince(start)
        let done = max(1, step - (startStep ?? 0))
        let remaining = Double(total - step) * elapsed / Double(done)
        var parts = ["\(label) \(step)/\(total)"]
        parts += values.map { "\($0.0) \($0.1)" }
        if let imagesPerSecond { parts.append(String(format: "%.0f img/s", imagesPerSecond)) }
        parts.append("ETA " + Self.duration(remaining))
        return parts.joined(separator: "  ")
    }

    /// Shows progress at `step`; returns the line if it was written.
    @discardableResult
    public func update(step: Int, values: [(String, String)], imagesPerSecond: Double? = nil) -> String? {
        let text = line(step: step, values: values, imagesPerSecond: imagesPerSecond)
        if interactive {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + text).utf8))
            wroteInteractive = true
            return text
        }
        let now = Date()
        guard now.timeIntervalSince(lastPlain) >= plainInterval || step == total else { return nil }
        lastPlain = now
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
        return text
    }

    /// Ends the in-place line so that later output starts on a fresh line.
    public func finish() {
        if interactive && wroteInteractive { FileHandle.standardOutput.write(Data("\n".utf8)) }
        wroteInteractive = false
    }

    /// "1h02m", "3m05s", "12s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60) }
        if total >= 60 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return "\(total)s"
    }
}
