import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest
@testable import Pipeline

/// A tiny pipeline end to end under `mpirun -np 2`, as `make demo` runs the real one: stopped mid-way by a
/// (simulated) SIGTERM, refused without --resume, resumed with complete stages skipped and the interrupted
/// one continued from its checkpoint, and its report complete: every section, Markdown tables that parse,
/// well-formed SVG and XHTML with interval bands, report.json with every condition's verdict, numbers equal
/// to the runs' metrics.
final class PipelineEndToEndTests: XCTestCase {
    var runs: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        runs = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: runs)
        try super.tearDownWithError()
    }

    /// Every stage kind and code path on the smallest data and step counts: scikit-learn's 8×8 digits resized
    /// (seen), the 5,000 MNIST digits (unseen), one ablation, two baselines with two-point grids, all four
    /// kinds of condition, 200 evaluation images, curves on 100 of them, two seeds, a two-configuration oracle.
    static let tinyConfiguration = """
    name: tiny
    seenData: digits
    unseenData: mnist-5k
    resize: true
    globalBatch: 16
    horizon: 4
    longHorizons: [2]
    evalEvery: 2
    evaluationLimit: 200
    pretrainData: digits
    pretrainSteps: 2
    metaSteps: 2
    truncation: 2
    innerRuns: 1
    ablations: [stepSizeOnly]
    ablationConditions: [seen]
    baselineOptimizers: [adam, momentum]
    schedules: [constant]
    headMultipliers: [1]
    learningRateGrids:
      adam: [0.0003, 0.003]
      momentum: [0.003, 0.03]
    seeds: 2
    curveImages: 100
    bootstrapResamples: 50
    evaluatedBaselines: 1
    oracleConfigurations: 2
    """

    func pipeline(_ extra: [String] = []) throws -> LaunchResult {
        let config = runs.appendingPathComponent("tiny.yaml")
        try Data(Self.tinyConfiguration.utf8).write(to: config)
        return try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable, "pipeline", "--config", config.path,
                                            "--runs-directory", runs.path, "--data-directory", MPIRun.dataDirectory] + extra,
                                 timeout: 600)
    }

    func modified(_ path: String) throws -> Date {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: runs.appendingPathComponent(path).path)[.modificationDate] as? Date)
    }

    func testStoppedPipelineResumesSkippingCompleteStagesAndWritesTheReport() throws {
        let interrupted = "tune/momentum-constant-lr0.003"
        let stopped = try pipeline(["--simulate-signal-stage", interrupted, "--simulate-signal-at-step", "1"])
        XCTAssertEqual(stopped.exitCode, 75, "a stopped pipeline exits 75\n\(stopped.transcript)")
        XCTAssertTrue(stopped.standardOutput.contains("pipeline stopped during \(interrupted)"), stopped.transcript)
        let pretrainDone = try modified("tiny/pretrain/summary.txt")
        let metaDone = try modified("tiny/meta-train/l3rs/l3rs.safetensors")

        let fresh = try pipeline()
        XCTAssertNotEqual(fresh.exitCode, 0, "starting over an existing pipeline must be refused\n\(fresh.transcript)")
        XCTAssertTrue(fresh.standardError.contains("--resume auto"), fresh.transcript)

        let resumed = try pipeline(["--resume", "auto"])
        XCTAssertEqual(resumed.exitCode, 0, resumed.transcript)
        for stage in ["pretrain", "meta-train/l3rs", "meta-train/l3rs-lambda-only", "tune/adam-constant-lr0.0003"] {
            XCTAssertTrue(resumed.standardOutput.contains("\(stage): complete, skipped"), "\(stage)\n\(resumed.transcript)")
        }
        XCTAssertTrue(resumed.standardOutput.contains("[\(interrupted)] resuming from step 1"), resumed.transcript)
        XCTAssertEqual(try modified("tiny/pretrain/summary.txt"), pretrainDone, "a complete stage is not rerun")
        XCTAssertEqual(try modified("tiny/meta-train/l3rs/l3rs.safetensors"), metaDone, "a complete stage is not rerun")
        print("pipeline: stopped run \(String(format: "%.1f", stopped.seconds)) s, resumed run \(String(format: "%.1f", resumed.seconds)) s")

        try checkReport(runs.appendingPathComponent("tiny"))
    }

    /// `startFromTunedBaseline` under mpirun: the tuning runs before meta-training, and the learned optimizer
    /// meta-training writes records the tuned Adam baseline's rate as λ0 (and Adam-scaled directions).
    func testStartFromTunedBaselineMetaTrainsAfterTheTuningAtItsRate() throws {
        let config = runs.appendingPathComponent("tiny.yaml")
        try Data((Self.tinyConfiguration + "\nstartFromTunedBaseline: true\ndirectionScale: adam\nablations: []\nlongHorizons: []\ntuningSeeds: 2\nmetaTrainingSeeds: 2\n")
            .replacingOccurrences(of: "ablations: [stepSizeOnly]\n", with: "")
            .replacingOccurrences(of: "longHorizons: [2]\n", with: "").utf8).write(to: config)
        let result = try MPIRun.launch(ranks: 2, [MPIRun.l3rsExecutable, "pipeline", "--config", config.path,
                                                  "--runs-directory", runs.path, "--data-directory", MPIRun.dataDirectory],
                                       timeout: 600)
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let out = result.standardOutput
        let tuned = try XCTUnwrap(out.range(of: "tuned adam-constant at 4 steps: learning rate "), out)
        let rate = String(out[tuned.upperBound...].prefix { !$0.isWhitespace })
        XCTAssertTrue(out.contains("L3RS starts from the tuned adam-constant: λ0 = \(rate), base schedule constant"), out)
        // tuningSeeds: 2 runs every grid point and oracle configuration twice and chooses by the mean.
        for stage in ["tune/adam-constant-lr0.0003-seed1", "tune/momentum-constant-lr0.03-seed1", "oracle/config-001-seed1"] {
            XCTAssertTrue(out.contains(" \(stage): running"), "\(stage) in \(out)")
        }
        let mean = { (stage: String) throws -> Double in
            let runs = try ["", "-seed1"].map { try XCTUnwrap(StageMetrics(folder: self.runs.appendingPathComponent("tiny/tune/\(stage)\($0)")).final("validation_accuracy")) }
            return (runs[0] + runs[1]) / 2
        }
        let chosen = try mean("adam-constant-lr\(rate)"), other = try mean("adam-constant-lr\(rate == "0.003" ? "0.0003" : "0.003")")
        XCTAssertTrue(chosen > other || (chosen == other && rate == "0.0003"), "chosen \(rate) by mean \(chosen) against \(other)")
        // metaTrainingSeeds: 2 meta-trains L3RS again (seed + 1) from the same tuned start, as an arm of its own.
        XCTAssertTrue(out.contains(" meta-train/l3rs-meta1: running"), out)
        XCTAssertTrue(out.contains(" eval-unseen/l3rs-meta1/seed-1: running"), out)
        let report = try String(contentsOf: runs.appendingPathComponent("tiny/report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("Meta-trained again with other seeds: l3rs-meta1 "), report)
        // The log names the selected configuration's first run, not a stage of another configuration.
        let selected = try XCTUnwrap(out.range(of: "schedule oracle: 2 configurations; selected oracle/"), out)
        let logged = String(out[selected.upperBound...].prefix { !$0.isWhitespace })
        XCTAssertTrue(report.contains("the best (\(logged))"), "log says \(logged); the report's oracle paragraph disagrees")
        let lastTuning = try XCTUnwrap(out.range(of: "tune/momentum-constant-lr0.03-seed1", options: .backwards), out)
        let metaTraining = try XCTUnwrap(out.range(of: "meta-train/l3rs: running"), out)
        XCTAssertLessThan(lastTuning.lowerBound, metaTraining.lowerBound, "meta-training runs after the tuning")
        let header = try String(decoding: Data(contentsOf: runs.appendingPathComponent("tiny/meta-train/l3rs/l3rs.safetensors")).prefix(4096), as: UTF8.self)
        XCTAssertTrue(header.contains(#"\"directionScale\":\"adam\""#), header)
        XCTAssertTrue(header.contains(#"\"baseLearningRate\":\#(rate)"#), "λ0 \(rate) in \(header)")
        let repeatHeader = try String(decoding: Data(contentsOf: runs.appendingPathComponent("tiny/meta-train/l3rs-meta1/l3rs.safetensors")).prefix(4096), as: UTF8.self)
        XCTAssertTrue(repeatHeader.contains(#"\"baseLearningRate\":\#(rate)"#), "the repeat starts from the same λ0: \(repeatHeader)")
    }

    func checkReport(_ folder: URL) throws {
        let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        for section in ["At a glance", "Run", "Method", "Verdict", "Speed-up over the strongest baseline", "Paired by seed", "Accuracy curves",
                        "Final test accuracy", "Learning-rate tuning", "Schedule oracle", "Wall time", "Training loss", "λ and μ per layer over time",
                        "Meta-training"] {
            XCTAssertTrue(markdown.contains("\n## \(section)\n"), "report.md lacks the section \(section)")
        }

        // Markdown tables: a header, a separator of the same width, rows of the same width.
        let tables = markdownTables(markdown)
        XCTAssertEqual(tables.count, 5, "speed-ups, paired differences, final accuracy, oracle, wall time (the tuning grids are a heat map)")

        // The story at a glance: the headline plot (the seen data, its speed-up in the title) first, then the run's
        // metadata.
        let glance = try XCTUnwrap(markdown.components(separatedBy: "\n## Verdict\n").first)
        XCTAssertTrue(glance.contains("![Accuracy: seen (") && glance.contains("L3RS speed-up over ") && glance.contains("(plots/accuracy-seen.svg)"), glance)
        for item in ["Date: ", "Commit: ", "Command line: ", "Ranks: 2 on 1 node(s); rank 0 on ", "Machine (rank 0): ", "Wall time: "] {
            XCTAssertTrue(glance.contains("\n- " + item), "no metadata item \(item)\n\(glance)")
        }
        XCTAssertTrue(glance.contains(" pipeline --config "), "the command line\n\(glance)")
        for table in tables {
            XCTAssertGreaterThanOrEqual(table.count, 3, "a table has a header, a separator and rows")
            let width = table[0].count
            XCTAssertTrue(table[1].allSatisfy { $0 == "---" }, "separator row: \(table[1])")
            for row in table { XCTAssertEqual(row.count, width, "row \(row) in a table of \(width) columns") }
        }

        // An evaluation run logs its curve on the subset every evalEvery steps and the whole split at the end.
        func records(_ path: String) throws -> [[String: Any]] {
            try String(contentsOf: folder.appendingPathComponent(path), encoding: .utf8).split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        let seed0 = try records("eval-seen/l3rs/seed-0/metrics.jsonl")
        XCTAssertEqual(seed0.filter { $0["curve_accuracy"] != nil }.compactMap { ($0["step"] as? NSNumber)?.intValue }, [2, 4])
        XCTAssertEqual(seed0.filter { $0["test_accuracy"] != nil }.compactMap { ($0["step"] as? NSNumber)?.intValue }, [4])
        XCTAssertEqual(try records("eval-seen/l3rs/seed-1/metrics.jsonl").count, 4, "a second seed")

        // Numbers come from the runs' own metrics: L3RS's mean final test accuracy over its two seeds.
        let finals = try (0..<2).map { k in
            try XCTUnwrap((try records("eval-seen/l3rs/seed-\(k)/metrics.jsonl").last?["test_accuracy"] as? NSNumber)?.doubleValue)
        }
        let mean = (finals[0] + finals[1]) / 2
        let accuracy = try XCTUnwrap(tables.first { $0[0].first == "arm" })
        let l3rsRow = try XCTUnwrap(accuracy.first { $0.first == "l3rs" })
        let column = try XCTUnwrap(accuracy[0].firstIndex(of: "seen @4"))
        XCTAssertTrue(l3rsRow[column].hasPrefix(String(format: "%.2f%% [", 100 * mean)), l3rsRow[column])

        // report.json: every condition with its strongest baseline, speed-up, interval and verdict; the oracle's on
        // the seen data; per-arm final accuracy equal to the metrics' mean.
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as? [String: Any])
        XCTAssertEqual(json["seeds"] as? Int, 2)
        let conditions = try XCTUnwrap(json["conditions"] as? [String: [String: Any]])
        XCTAssertEqual(Set(conditions.keys), ["seen", "unseen", "horizon-2x", "another-init"])
        for (name, condition) in conditions {
            XCTAssertNotNil(condition["best_baseline"] as? String, name)
            let (speedup, low, high) = try (XCTUnwrap(condition["speedup"] as? Double, name), XCTUnwrap(condition["speedup_low"] as? Double, name),
                                            XCTUnwrap(condition["speedup_high"] as? Double, name))
            XCTAssertTrue(speedup > 0 && low <= high, "\(name): \(speedup) [\(low), \(high)]")
            XCTAssertTrue(["faster", "tie", "slower"].contains(try XCTUnwrap(condition["verdict"] as? String)), name)
            // Paired by seed over both seeds, from the real runs' metrics.
            XCTAssertEqual(condition["paired_seeds"] as? Int, 2, name)
            let paired = try XCTUnwrap(condition["paired_final_difference"] as? Double, name)
            XCTAssertTrue(try XCTUnwrap(condition["paired_final_difference_low"] as? Double) <= paired, name)
            let arms = try XCTUnwrap(condition["arms"] as? [String: [String: Any]], name)
            XCTAssertNotNil(arms["l3rs"]?["final_accuracy_low"] as? Double, name)
            XCTAssertEqual(arms.values.compactMap { $0["kind"] as? String }.filter { $0 == "baseline" }.count, 1, name)
            XCTAssertEqual(condition["oracle_speedup"] != nil, name == "seen", "the oracle runs on the seen data only")
        }
        let seen = try XCTUnwrap(conditions["seen"])
        XCTAssertNotNil(seen["oracle_speedup_low"] as? Double)
        XCTAssertEqual(try XCTUnwrap((seen["arms"] as? [String: [String: Any]])?["l3rs"]?["final_accuracy"] as? Double), mean, accuracy: 1e-12)
        XCTAssertNotNil((seen["arms"] as? [String: [String: Any]])?["l3rs-lambda-only"], "the ablation is an arm where configured")

        // Plots: every linked SVG exists and is well-formed; the HTML is one well-formed page with them inline.
        let plots = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("plots").path).sorted()
        XCTAssertGreaterThanOrEqual(plots.count, 2 * 4 + 1 + 3 + 1 + 1, "accuracy and loss per condition, λ, μ per base, meta-training, tuning")
        for plot in plots {
            XCTAssertTrue(markdown.contains("(plots/\(plot))"), "report.md links \(plot)")
            let svg = try String(contentsOf: folder.appendingPathComponent("plots/\(plot)"), encoding: .utf8)
            XCTAssertEqual(try wellFormedCounts(svg, plot)["svg"], 1)
        }
        let seenPlot = try String(contentsOf: folder.appendingPathComponent("plots/accuracy-seen.svg"), encoding: .utf8)
        XCTAssertGreaterThanOrEqual(try wellFormedCounts(seenPlot, "accuracy-seen.svg")["polygon"] ?? 0, 1, "interval bands over seeds")
        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        let counts = try wellFormedCounts(html, "report.html")
        XCTAssertEqual(counts["svg"], plots.count, "every plot inline")
        XCTAssertEqual(counts["table"], 5)
        // The tuning grids as a heat map: a cell per grid point, the chosen ones outlined.
        let heatMap = try String(contentsOf: folder.appendingPathComponent("plots/tuning.svg"), encoding: .utf8)
        XCTAssertEqual(try wellFormedCounts(heatMap, "tuning.svg")["rect"].map { $0 >= 1 + 4 + 2 }, true, "background, grid cells, outlines")
        XCTAssertTrue(heatMap.contains("adam-constant @4") && heatMap.contains("stroke=\"#D55E00\""), heatMap)
        XCTAssertTrue(html.contains("Held-out accuracy after tuning runs"), "the heat map is inline in the HTML")
        let run = try XCTUnwrap(json["run"] as? [String: Any])
        XCTAssertEqual(run["ranks"] as? Int, 2)
        XCTAssertNotNil(run["commit"] as? String)
        XCTAssertGreaterThan(try XCTUnwrap(run["wall_seconds"] as? Double), 0)
        XCTAssertFalse(html.contains("src="), "self-contained: nothing loaded from elsewhere")
    }

    /// Every Markdown table as rows of trimmed cells.
    func markdownTables(_ text: String) -> [[[String]]] {
        var tables: [[[String]]] = [], current: [[String]] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("|") {
                XCTAssertTrue(line.hasSuffix("|"), "table line ends with |: \(line)")
                let cells = line.dropFirst().dropLast().replacingOccurrences(of: "\\|", with: "\u{1}")
                    .split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                current.append(cells)
            } else if !current.isEmpty {
                tables.append(current)
                current = []
            }
        }
        if !current.isEmpty { tables.append(current) }
        return tables
    }

    /// Element counts of a well-formed XML document; throws when it is not.
    func wellFormedCounts(_ text: String, _ name: String) throws -> [String: Int] {
        final class Counter: NSObject, XMLParserDelegate {
            var counts: [String: Int] = [:]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                counts[name, default: 0] += 1
            }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let counter = Counter()
        parser.delegate = counter
        guard parser.parse() else {
            XCTFail("\(name) is not well-formed: \(String(describing: parser.parserError))")
            return [:]
        }
        return counter.counts
    }
}
