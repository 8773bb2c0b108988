import Foundation
import Reports

/// A stage's own metrics.jsonl, read back for the report: every number in the report comes from here.
struct StageMetrics {
    let records: [[String: Any]]
    /// The first line as written, whose key order (the layer order of l3rs.jsonl) a dictionary loses.
    let firstLine: String

    init(folder: URL, file: String = "metrics.jsonl") throws {
        let url = folder.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PipelineError.missingResults("missing \(url.path): the stage has not run")
        }
        records = try MetricsLog.read(url: url)
        firstLine = (try String(contentsOf: url, encoding: .utf8)).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// (x, y) of every record holding both keys, in file order.
    func points(_ key: String, x: String = "step") -> [(x: Double, y: Double)] {
        records.compactMap { record in
            guard let xv = (record[x] as? NSNumber)?.doubleValue, let yv = (record[key] as? NSNumber)?.doubleValue else { return nil }
            return (xv, yv)
        }
    }

    /// The last value of `key` (`x`: the step key, meta_step for meta-training).
    func final(_ key: String, x: String = "step") -> Double? { points(key, x: x).last?.y }

    /// The value of `key` at step `step`.
    func value(_ key: String, at step: Int, x: String = "step") -> Double? {
        points(key, x: x).last { Int($0.x) == step }?.y
    }

    /// The first step at which `key` reaches `target` (among the steps it was logged at).
    func firstStep(_ key: String, reaching target: Double) -> Int? {
        points(key).first { $0.y >= target }.map { Int($0.x) }
    }

    /// Keys of the first record that start with `prefix`, in the order they were written.
    func keys(withPrefix prefix: String) -> [String] {
        guard let first = records.first else { return [] }
        let marked = firstLine.components(separatedBy: "\"" + prefix).dropFirst().compactMap { rest -> String? in
            rest.split(separator: "\"", maxSplits: 1).first.map { prefix + $0 }
        }
        return marked.filter { first[$0] != nil }
    }
}

/// A trailing moving average, so noisy per-step training losses read as curves.
func movingAverage(_ points: [(x: Double, y: Double)], window: Int) -> [(x: Double, y: Double)] {
    guard window > 1 else { return points }
    var sum = 0.0
    var out: [(x: Double, y: Double)] = []
    for (i, point) in points.enumerated() {
        sum += point.y
        if i >= window { sum -= points[i - window].y }
        out.append((point.x, sum / Double(min(i + 1, window))))
    }
    return out
}
