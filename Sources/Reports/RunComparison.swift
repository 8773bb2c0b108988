import Foundation

/// `l3rs report RUN...`: the curves of any runs (fine-tuning or meta-training folders, each with its
/// metrics.jsonl) on one self-contained HTML page, one plot per metric with a line per run, and a table of
/// each run's last values and wall time.
public struct RunComparison {
    /// One run's records.
    public struct Run {
        public let name: String
        public let records: [[String: Any]]

        /// Reads `path`: a run folder holding metrics.jsonl, or a metrics file itself.
        public init(path: String) throws {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw RunComparisonError("\(path): no such run folder or metrics file")
            }
            let url = isFolder.boolValue ? URL(fileURLWithPath: path).appendingPathComponent("metrics.jsonl") : URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RunComparisonError("\(path): holds no metrics.jsonl (is it a run folder, runs/NAME?)")
            }
            do { records = try MetricsLog.read(url: url) } catch {
                throw RunComparisonError("\(url.path): \((error as NSError).localizedDescription)")
            }
            let folder = isFolder.boolValue ? URL(fileURLWithPath: path) : url.deletingLastPathComponent()
            name = folder.standardizedFileURL.lastPathComponent
        }

        public init(name: String, records: [[String: Any]]) {
            self.name = name
            self.records = records
        }

        /// The x axis: `step`, or `meta_step` for meta-training.
        var stepKey: String { records.contains { $0["step"] != nil } ? "step" : "meta_step" }

        func number(_ record: [String: Any], _ key: String) -> Double? {
            (record[key] as? NSNumber)?.doubleValue ?? (record[key] as? Double)
        }

        func points(_ key: String) -> [(x: Double, y: Double)] {
            records.compactMap { record in
                guard let x = number(record, stepKey), let y = number(record, key), y.isFinite else { return nil }
                return (x, y)
            }
        }

        /// Seconds from the first record to the last, by their time stamps (nil for logs written before them).
        var wallSeconds: Double? {
            guard let first = records.first.flatMap({ number($0, "wall_time") }),
                  let last = records.last.flatMap({ number($0, "wall_time") }) else { return nil }
            return last - first
        }
    }

    public let runs: [Run]
    /// The metrics to plot; empty: every numeric key any run logged (a fixed order for the usual ones first).
    public var metrics: [String]

    public init(runs: [Run], metrics: [String] = []) {
        self.runs = runs
        self.metrics = metrics
    }

    /// Keys that are bookkeeping rather than curves.
    static let excluded: Set<String> = ["step", "meta_step", "wall_time", "time", "seconds", "skipped"]
    static let preferredOrder = ["test_accuracy", "validation_accuracy", "test_loss", "validation_loss", "loss", "accuracy",
                                 "meta_loss", "learning_rate", "gradient_norm", "images_per_second"]

    /// The metrics plotted: the chosen ones, or every numeric key in `preferredOrder`, then by name.
    public var plottedMetrics: [String] {
        if !metrics.isEmpty { return metrics }
        var keys = Set<String>()
        for run in runs {
            for record in run.records { for (key, _) in record where run.number(record, key) != nil { keys.insert(key) } }
        }
        keys.subtract(Self.excluded)
        let preferred = Self.preferredOrder.filter { keys.contains($0) }
        return preferred + keys.subtracting(preferred).sorted()
    }

    public func document(title: String = "L3RS runs") -> ReportDocument {
        var document = ReportDocument(title: title)
        let metrics = plottedMetrics
        var table = Table(header: ["run", "records", "last step", "wall time"] + metrics.map { "last " + $0 })
        for run in runs {
            let lastStep = run.records.last.flatMap { run.number($0, run.stepKey) }.map { MetricsRecord.numberText($0) } ?? ""
            table.append([run.name, String(run.records.count), lastStep, run.wallSeconds.map(ProgressReporter.duration) ?? ""]
                + metrics.map { key in run.points(key).last.map { String(format: "%.4g", $0.y) } ?? "" })
        }
        document.table(table)
        for (index, key) in metrics.enumerated() {
            let series = runs.map { LinePlot.Series(name: $0.name, points: $0.points(key)) }.filter { !$0.points.isEmpty }
            let xLabel = Set(runs.map(\.stepKey)).count == 1 ? runs[0].stepKey : "step"
            document.plot("\(index)-\(key).svg", LinePlot(title: key, xLabel: xLabel, yLabel: key, series: series))
        }
        return document
    }
}

/// A run that cannot be compared, named with what is wrong.
public struct RunComparisonError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
