import ArgumentParser
import Choices
import Foundation
import Reports
import Training

/// `l3rs report RUN...`: any runs' curves on one HTML page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Plot the metrics of any runs (runs/NAME folders or metrics.jsonl files) into one self-contained HTML page.",
        discussion: "One plot per metric with a line per run, and a table of each run's last values and wall time. Exit status: 0 written; 64 a run or metric cannot be read; 1 the page cannot be written."
    )

    @Argument(help: "Run folders (runs/NAME) or metrics.jsonl files.")
    var runs: [String]

    @Option(help: "The HTML file to write (default: report.html).")
    var output = "report.html"

    @Option(help: "Comma-separated metrics to plot (default: every metric the runs logged).")
    var metrics: String?

    @Option(help: "The page's title (default: L3RS runs).")
    var title = "L3RS runs"

    /// The runs and metrics, each checked: a run that cannot be read, or a metric no run logged, is an error.
    private func comparison() throws -> RunComparison {
        guard !runs.isEmpty else { throw ValidationError("name at least one run folder, e.g. runs/quick") }
        var loaded: [RunComparison.Run] = []
        for run in runs {
            do { loaded.append(try RunComparison.Run(path: run)) } catch { throw ValidationError(String(describing: error)) }
        }
        let chosen = metrics?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        let logged = RunComparison(runs: loaded).plottedMetrics
        if let unknown = chosen.first(where: { !logged.contains($0) }) {
            throw ValidationError("--metrics: no run logged '\(unknown)'" + Suggestion.hint(for: unknown, among: logged)
                                  + "; logged: \(logged.joined(separator: ", "))")
        }
        return RunComparison(runs: loaded, metrics: chosen)
    }

    func validate() throws { _ = try comparison() }

    func run() throws {
        let comparison = try comparison()
        do {
            try Data(comparison.document(title: title).html().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            printError("Error: --output \(output): cannot write: \((error as NSError).localizedDescription)")
            throw ExitCode.failure
        }
        printLine("wrote \(output): \(comparison.plottedMetrics.count) plot(s) of \(comparison.runs.count) run(s)")
    }
}
