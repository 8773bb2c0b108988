import Datasets
import Foundation
import Reports

/// report.md, report.html, report.json and plots/ in the pipeline's folder, built only from the stages' own
/// metrics files. It opens with its story at a glance: the headline plot (accuracy against steps per arm on the
/// seen data, 95% bands over seeds, the speed-up and its interval in the title) and the run's metadata (commit,
/// command line, ranks, host, wall time, date); then the verdict per condition with its interval, speed-ups over
/// the strongest tuned baseline, the other conditions' accuracy curves, final test accuracy per arm, the tuning
/// grids as a heat map, the schedule oracle's search, wall times, λ and μ per layer over time, and the
/// meta-training curves.
struct PipelineReport {
    let plan: PipelinePlan
    /// The tuning at every horizon (steps → choice).
    let tuning: [Int: PipelineTuning]
    let oracle: OracleSearch?
    /// Commit, command line, ranks, host, wall time and date of the run that writes the report.
    let metadata: RunMetadata

    /// The section headings, in order (the tests check every one is there).
    static let sections = [
        "At a glance", "Run", "Method", "Verdict", "Speed-up over the strongest baseline", "Paired by seed", "Accuracy curves", "Final test accuracy", "Learning-rate tuning",
        "Schedule oracle", "Wall time", "Training loss", "λ and μ per layer over time", "Meta-training",
    ]

    func write() throws -> (markdown: URL, html: URL, json: URL) {
        let runs = plan.evaluationStages(tuning: tuning, oracle: oracle?.selected)
        let results = try PipelineResults(plan: plan, runs: runs)
        let document = try build(results: results, runs: runs)
        let folder = plan.folder
        let plots = folder.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        for (file, svg) in document.plots {
            try Data(svg.utf8).write(to: plots.appendingPathComponent(file), options: .atomic)
        }
        let markdown = folder.appendingPathComponent("report.md"), html = folder.appendingPathComponent("report.html")
        let json = folder.appendingPathComponent("report.json")
        try Data(document.markdown(plotFolder: "plots").utf8).write(to: markdown, options: .atomic)
        try Data(document.html().utf8).write(to: html, options: .atomic)
        try results.json(plan: plan, run: metadata).write(to: json, options: .atomic)
        return (markdown, html, json)
    }

    /// "1.23× [0.98, 1.51]".
    static func speedup(_ comparison: PipelineResults.Comparison) -> String {
        String(format: "%.2f× [%.2f, %.2f]", comparison.speedup.value, comparison.low, comparison.high)
    }

    /// "85.42% [84.90, 85.94]": a mean with its 95% interval over seeds.
    static func accuracy(_ interval: ComparisonStatistics.Interval) -> String {
        guard interval.mean.isFinite else { return "—" }
        return PipelineFormat.percent(interval.mean) + String(format: " [%.2f, %.2f]", 100 * interval.low, 100 * interval.high)
    }

    /// "+2.62 pp [+1.00, +4.24]": a difference of accuracies with its 95% interval, in percentage points.
    static func points(_ interval: ComparisonStatistics.Interval?) -> String {
        guard let interval, interval.mean.isFinite else { return "—" }
        return String(format: "%+.2f pp [%+.2f, %+.2f]", 100 * interval.mean, 100 * interval.low, 100 * interval.high)
    }

    func build(results: PipelineResults, runs: [PipelinePlan.EvaluationRun]) throws -> ReportDocument {
        let c = plan.configuration
        guard let atHorizon = tuning[c.horizon] else { throw PipelineError.missingResults("no tuning at the horizon \(c.horizon)") }
        var doc = ReportDocument(title: "L3RS pipeline report: \(c.name)")
        let headline = results.conditions.first { $0.condition.name == "seen" } ?? results.conditions.first
        writeGlance(&doc, results: results, headline: headline)
        writeMethod(&doc, atHorizon: atHorizon)
        writeComparisons(&doc, results: results, headline: headline)
        writeTuning(&doc, results: results, atHorizon: atHorizon)
        try writeWallTime(&doc, runs: runs, atHorizon: atHorizon)
        try writeTraining(&doc, results: results, runs: runs)
        return doc
    }

    /// How the accuracy curves were measured, in words.
    private var curveText: String {
        plan.configuration.curveImages > 0
            ? "\(plan.configuration.curveImages) images spread evenly over each condition's test split (a fixed subset, the same for every arm and seed)"
            : "the whole test split"
    }

    /// "At a glance" (the headline sentence and plot) and "Run".
    private func writeGlance(_ doc: inout ReportDocument, results: PipelineResults, headline: PipelineResults.Condition?) {
        let c = plan.configuration
        doc.heading("At a glance")
        if let headline { doc.paragraph(sentence(headline)) }
        doc.plot(headline.map { "accuracy-\($0.condition.name).svg" } ?? "accuracy.svg", accuracyPlot(headline, headline: true))
        doc.paragraph("Mean accuracy over \(c.seeds) seeds with its 95% t-interval shaded (clipped to [0, 1]), on \(curveText), every \(c.evalEvery) steps. Dashed: tuned baselines; solid: L3RS, its ablations and the schedule oracle. The other conditions are under \"Accuracy curves\".")

        doc.heading("Run")
        doc.bullets(metadata.items(duration: ProgressReporter.duration).map { "\($0.label): \($0.value)" })
    }

    /// "Method": what ran.
    private func writeMethod(_ doc: inout ReportDocument, atHorizon: PipelineTuning) {
        let c = plan.configuration
        doc.heading("Method")
        let startText = plan.startingBaseline(atHorizon).map { "starting from the tuned \($0.baseline.label) baseline (λ0 = \(PipelineFormat.compact($0.learningRate)), its schedule as the base schedule)" }
            ?? "λ0 = \(PipelineFormat.compact(c.baseLearningRate)), base schedule \(c.baseSchedule.rawValue)"

        doc.paragraph("Backbone \(c.model) (\(c.weights), head re-initialised). L3RS meta-trained on \(c.seenData) for \(c.metaSteps) meta-steps (truncation \(c.truncation), horizon H = \(c.horizon) steps, \(c.innerRuns) inner runs, meta-learning rate \(PipelineFormat.compact(c.metaLearningRate)), \(startText), directions scaled to \(c.directionScale == .adam ? "Adam's RMS" : "unit RMS"), initial Adam logit \(PipelineFormat.compact(c.initialPreferredLogit)), step-size penalty ρ = \(PipelineFormat.compact(c.stepSizePenalty)), \(c.metaEstimator == .truncatedBackprop ? "\(c.metaGradientOrder == .secondOrder ? "second" : "first")-order truncated backpropagation" : c.metaEstimator.rawValue)\(c.metaLossWeighting == .uniform ? "" : ", held-out losses weighted \(c.metaLossWeighting.rawValue) over each truncation and each validation run"), meta-validation: \(PipelineFormat.percent(c.validationFraction)) of the training split). Every arm of every condition ran with the same \(c.seeds) seeds (head initialisation and data order), global batch \(c.globalBatch), and the same steps and data. Accuracy curves: every \(c.evalEvery) steps on \(curveText); final accuracy: the whole test split at the last step. Baselines were tuned on the held-out meta-validation split (never on test data) by runs as long as the horizon they are compared at. Means and 95% t-intervals are over seeds; speed-ups have 95% bootstrap intervals (\(c.bootstrapResamples) resamples of the seeds of both arms). Every number below is read from the runs' metrics files under this folder." + (c.evaluationLimit > 0 ? " Evaluation used only \(c.evaluationLimit) images spread evenly over each evaluation split (a quick check, not a result)." : ""))
    }

    /// The verdicts, speed-ups, paired differences, the other conditions' curves and the final accuracies.
    private func writeComparisons(_ doc: inout ReportDocument, results: PipelineResults, headline: PipelineResults.Condition?) {
        let c = plan.configuration
        doc.heading("Verdict")
        doc.bullets(results.conditions.map(sentence))
        doc.paragraph("Speed-up = the steps the strongest baseline (best mean final test accuracy among the tuned baselines run in that condition) needs to reach its own final mean accuracy, divided by the steps the other arm needs to reach the same, both on mean accuracy curves with linear interpolation between evaluation points. Verdict: tie when the 95% interval contains 1, faster when it lies above, slower when below, and slower whenever the arm's mean curve never reaches the target (its steps then count one evaluation interval past the end, so the speed-up shown is an upper bound below 1). The goal: on the seen data a speed-up of at least 2 with the interval above 1; where the schedule oracle stays below 2, L3RS above the oracle; no verdict \"slower\" elsewhere.")

        doc.heading("Speed-up over the strongest baseline")
        var speedups = Table(header: ["condition", "strongest baseline", "target (its final mean)", "its steps", "arm", "arm's steps",
                                      "speed-up [95% interval]", "verdict"])
        for result in results.conditions {
            for comparison in result.comparisons {
                let s = comparison.speedup
                speedups.append([result.condition.name, result.strongest?.label ?? "—", PipelineFormat.percent(s.target),
                                 String(format: "%.1f", s.baselineSteps), comparison.arm.label,
                                 s.reached ? String(format: "%.1f", s.learnedSteps) : "not reached", Self.speedup(comparison),
                                 comparison.verdict.rawValue])
            }
        }
        doc.table(speedups)

        doc.heading("Paired by seed")
        doc.paragraph("The arms of a condition share each seed's head initialisation and data order, so the per-seed difference of an arm and the strongest baseline removes the spread the seeds cause in both; 95% t-intervals over the \(c.seeds) per-seed differences, in percentage points. The mean accuracy over the curve (every \(c.evalEvery) steps) says how far ahead an arm is during the run, which the speed-up above cannot see when both arms end level. Where the schedule oracle ran, the learned arms are also paired against it: where the oracle shows no room over the baselines, it is the line L3RS must beat.")
        var paired = Table(header: ["condition", "arm", "against", "seeds", "final test accuracy, difference [95%]",
                                    "mean accuracy over the curve, difference [95%]"])
        for result in results.conditions {
            for comparison in result.comparisons {
                paired.append([result.condition.name, comparison.arm.label, result.strongest?.label ?? "—",
                               "\(comparison.pairedFinal?.count ?? 0)", Self.points(comparison.pairedFinal),
                               Self.points(comparison.pairedCurveMean)])
            }
            for pairing in result.againstOracle {
                paired.append([result.condition.name, pairing.arm.label, PipelinePlan.oracleLabel, "\(pairing.pairedFinal?.count ?? 0)",
                               Self.points(pairing.pairedFinal), Self.points(pairing.pairedCurveMean)])
            }
        }
        doc.table(paired)

        doc.heading("Accuracy curves")
        doc.paragraph("As the headline plot, in the other conditions: mean accuracy over \(c.seeds) seeds with its 95% t-interval shaded. Dashed: tuned baselines; solid: L3RS, its ablations and the schedule oracle.")
        for result in results.conditions where result.condition.name != headline?.condition.name {
            doc.plot("accuracy-\(result.condition.name).svg", accuracyPlot(result, headline: false))
        }

        doc.heading("Final test accuracy")
        var finals = Table(header: ["arm"] + plan.conditions.map { "\($0.name) @\($0.steps)" })
        for label in orderedUnique(results.conditions.flatMap { $0.arms.map(\.label) }) {
            finals.append([label] + results.conditions.map { result in
                result.arms.first { $0.label == label }.map { Self.accuracy($0.final) } ?? "—"
            })
        }
        doc.table(finals)
        let collapsed = results.conditions.flatMap { result -> [String] in
            let chance = 1 / Double(max((try? DatasetRegistry.descriptor(named: result.condition.data).classCount) ?? 10, 1))
            return result.arms.filter { $0.final.mean < chance + 0.05 }.map { "\($0.label) in \(result.condition.name)" }
        }
        doc.paragraph("Mean [95% t-interval] over seeds, in percent, on the whole test split. — : not run in that condition. Conditions: " + plan.conditions.map { "\($0.name) = \($0.title), \($0.steps) steps" }.joined(separator: "; ") + ". Ablations: " + (plan.ablations.isEmpty ? "none" : plan.ablations.map { "\($0.label) = \($0.summary)" }.joined(separator: "; ")) + "." + (collapsed.isEmpty ? "" : " Ended at chance level (diverged): \(collapsed.joined(separator: ", "))."))
    }

    /// The tuning grids and the schedule oracle's search.
    private func writeTuning(_ doc: inout ReportDocument, results: PipelineResults, atHorizon: PipelineTuning) {
        let c = plan.configuration
        doc.heading("Learning-rate tuning")
        var edges: [String] = []
        for steps in plan.horizons {
            guard let choice = tuning[steps] else { continue }
            edges += choice.ranking.filter(choice.isAtGridEdge).map { "\($0.label) at \(steps) steps" }
        }
        doc.paragraph("Every baseline ran as many steps on \(c.seenData) as the horizon it is compared at, at every learning rate of its grid, and the held-out (meta-validation) accuracy at the end chose the learning rate (\(Self.tuningSeedsText(c))). At H = \(c.horizon) every baseline was tuned; \(c.evaluatedBaselines == 0 ? "every baseline" : "the best \(c.evaluatedBaselines) by held-out accuracy") then ran in every condition and was tuned again at each longer horizon. Best tuned baseline at H: \(atHorizon.best.label). The heat map shows every grid point's held-out accuracy (rows: baseline at a horizon, best first; colours scaled within each row, darkest its best); the chosen learning rate of each row is outlined. "
            + (edges.isEmpty ? "Every choice lies inside its grid."
               : "Chosen at the edge of the grid (its optimum may lie outside; widen learningRateGrids to be sure): \(edges.joined(separator: ", "))."))
        doc.plot("tuning.svg", tuningHeatMap())

        doc.heading("Schedule oracle")
        if let oracle {
            let order = oracle.accuracies.indices.sorted { (oracle.accuracies[$0] ?? -1) > (oracle.accuracies[$1] ?? -1) }
            var table = Table(header: ["rank", "configuration", "schedule", "held-out accuracy"])
            for (rank, index) in order.prefix(10).enumerated() {
                table.append(["\(rank + 1)", String(format: "config-%03d", index) + (index == 0 ? " (the best baseline)" : ""),
                              oracle.schedules[index].summary, PipelineFormat.percent(oracle.accuracies[index])])
            }
            let seen = results.conditions.first { $0.condition.name == "seen" }
            let line = seen?.comparison(PipelinePlan.oracleLabel).map { "On the seen data it reaches the strongest baseline's final accuracy with a speed-up of \(Self.speedup($0)) (\($0.verdict.rawValue)): the headroom a per-layer schedule without learning has on this task." } ?? ""
            doc.paragraph("A seeded random search of \(oracle.schedules.count) per-layer-group step schedules on top of \(atHorizon.best.optimizer.rawValue) (the best tuned baseline's optimizer): per group (first convolution, other convolutions, hidden linear layers, head; derived from the layer table) a multiplier in [0.1, 10] and a decay shape (constant, cosine, linear), a shared warm-up of 0, H/20, H/10 or H/5 steps, and a base rate within √10 of the tuned one; configuration 0 is the best tuned baseline itself. Each ran H = \(c.horizon) steps and was judged on the held-out split (\(Self.tuningSeedsText(c))); the best (config-\(String(format: "%03d", oracle.chosen))) then ran with the seeds like every arm. " + line + " The ten best:")
            doc.table(table)
        } else {
            doc.paragraph("Not run (oracleConfigurations: 0).")
        }
    }

    /// The seeds behind each tuning and oracle choice, in words.
    static func tuningSeedsText(_ c: PipelineConfiguration) -> String {
        c.tuningSeeds == 1 ? "one seed, \(c.seed)" : "the mean over \(c.tuningSeeds) seeds, \(c.seed) to \(c.seed &+ UInt64(c.tuningSeeds - 1))"
    }

    /// Wall time per kind of stage.
    private func writeWallTime(_ doc: inout ReportDocument, runs: [PipelinePlan.EvaluationRun], atHorizon: PipelineTuning) throws {
        doc.heading("Wall time")
        var wall = Table(header: ["stages", "runs", "wall time"])
        let metaSeconds = try plan.metaTrainingStages.reduce(0.0) { $0 + ((try StageMetrics(folder: $1.stage.folder)).final("seconds", x: "meta_step") ?? 0) }
        wall.append(["meta-training (L3RS and ablations)", "\(plan.metaTrainingStages.count)", PipelineFormat.seconds(metaSeconds)])
        let pretrain = try StageMetrics(folder: plan.pretrainStage.folder)
        wall.append([plan.pretrainStage.id, "1", PipelineFormat.seconds(pretrain.final("seconds"))])
        func seconds(_ stages: [PipelineStage]) throws -> Double {
            try stages.reduce(0.0) { $0 + ((try StageMetrics(folder: $1.folder)).final("seconds") ?? 0) }
        }
        for steps in plan.horizons {
            guard let choice = tuning[steps] else { continue }
            let stages = plan.tuningStages(steps: steps, baselines: choice.ranking).map(\.stage)
            wall.append(["tuning at \(steps) steps", "\(stages.count)", PipelineFormat.seconds(try seconds(stages))])
        }
        if oracle != nil {
            let stages = plan.oracleStages(atHorizon).map(\.stage)
            wall.append(["schedule oracle search", "\(stages.count)", PipelineFormat.seconds(try seconds(stages))])
        }
        var evaluationSeconds = 0.0
        for condition in plan.conditions {
            let stages = runs.filter { $0.condition == condition }.map(\.stage)
            let total = try seconds(stages)
            evaluationSeconds += total
            wall.append(["evaluation: \(condition.name)", "\(stages.count)", PipelineFormat.seconds(total)])
        }
        doc.paragraph("Training and evaluation time from each run's metrics (a resumed run counts from its resume); loading and set-up are not included. Meta-training L3RS once costs as much as \(String(format: "%.1f", (try StageMetrics(folder: plan.metaTrainingStages[0].stage.folder)).final("seconds", x: "meta_step").map { $0 / max(evaluationSeconds / Double(max(runs.count, 1)), 1e-9) } ?? .nan)) average evaluation fine-tunes.")
        doc.table(wall)
    }

    /// Training loss, λ and μ per layer over time, and the meta-training curves.
    private func writeTraining(_ doc: inout ReportDocument, results: PipelineResults, runs: [PipelinePlan.EvaluationRun]) throws {
        doc.heading("Training loss")
        doc.paragraph("Training loss of the training batches, mean over seeds of a 10-step moving average. Dashed: baselines.")
        for result in results.conditions {
            doc.plot("loss-\(result.condition.name).svg", LinePlot(
                title: "Training loss: \(result.condition.name)", xLabel: "step", yLabel: "loss",
                series: result.arms.map { arm in
                    let curves = arm.metrics.map { movingAverage($0.points("loss"), window: 10).map { (step: $0.x, accuracy: $0.y) } }
                    return .init(name: arm.label, points: ComparisonStatistics.meanCurve(curves).map { ($0.step, $0.accuracy) },
                                 dashed: arm.kind == .baseline)
                }, logY: true))
        }

        doc.heading("λ and μ per layer over time")
        doc.paragraph("From l3rs.jsonl of the learned optimizer's fine-tune on the seen data (seed 0, every step): λ_l is the step size of layer l, μ_l,p the weight of base optimizer p's normalised direction in layer l.")
        if let run = runs.first(where: { $0.condition.name == "seen" && $0.arm == PipelinePlan.learnedLabel && $0.seed == 0 }) {
            let log = try StageMetrics(folder: run.stage.folder, file: "l3rs.jsonl")
            let lambdas = log.keys(withPrefix: "lambda/")
            doc.plot("lambda-per-layer.svg", LinePlot(
                title: "λ per layer (seen)", xLabel: "step", yLabel: "λ",
                series: lambdas.map { .init(name: String($0.dropFirst("lambda/".count)), points: log.points($0)) }, logY: true))
            let mus = log.keys(withPrefix: "mu/")
            let bases = orderedUnique(mus.compactMap { $0.split(separator: "/").last.map(String.init) })
            for base in bases {
                let keys = mus.filter { $0.hasSuffix("/" + base) }
                doc.plot("mu-\(base)-per-layer.svg", LinePlot(
                    title: "μ of \(base) per layer (seen)", xLabel: "step", yLabel: "μ",
                    series: keys.map { .init(name: String($0.dropFirst("mu/".count).dropLast(base.count + 1)), points: log.points($0)) }))
            }
        }

        doc.heading("Meta-training")
        doc.paragraph("Meta-loss (validation loss after each truncation, moving average over 5 meta-steps) of L3RS and of each ablation.")
        let metaRuns = try plan.metaTrainingStages.map { ($0.label, try StageMetrics(folder: $0.stage.folder)) }
        doc.plot("meta-training.svg", LinePlot(
            title: "Meta-training curve", xLabel: "meta-step", yLabel: "meta-loss",
            series: metaRuns.map { .init(name: $0.0, points: movingAverage($0.1.points("meta_loss", x: "meta_step"), window: 5)) }))
    }

    /// Accuracy against steps per arm in one condition, 95% bands over seeds; the headline plot names L3RS's
    /// speed-up over the strongest baseline and its interval in the title.
    private func accuracyPlot(_ result: PipelineResults.Condition?, headline: Bool) -> LinePlot {
        guard let result else { return LinePlot(title: "Accuracy: no condition ran", xLabel: "step", yLabel: "accuracy", series: []) }
        var title = "Accuracy: \(result.condition.name) (\(result.condition.title))"
        if headline, let l3rs = result.comparison(PipelinePlan.learnedLabel), let strongest = result.strongest {
            title += ". L3RS speed-up over \(strongest.label): \(Self.speedup(l3rs)), \(l3rs.verdict.rawValue)"
        }
        // A t-interval over few seeds can reach past 0 or 1; accuracy cannot, so the band is drawn clipped to [0, 1].
        var plot = LinePlot(title: title, xLabel: "step", yLabel: "accuracy",
                            series: result.arms.map { arm in
                                .init(name: arm.label, points: arm.meanCurve.map { ($0.step, $0.accuracy) }, dashed: arm.kind == .baseline,
                                      band: arm.band.map { ($0.x, max($0.low, 0), min($0.high, 1)) })
                            })
        if headline { (plot.width, plot.height) = (960, 440) }
        return plot
    }

    /// The tuning grids as one heat map: a row per baseline and horizon (best first), a column per learning rate of
    /// any grid, the held-out accuracy in the cells, the chosen learning rate outlined.
    private func tuningHeatMap() -> HeatMap {
        let choices = plan.horizons.compactMap { steps in tuning[steps].map { (steps, $0) } }
        let rates = Array(Set(choices.flatMap { $0.1.grid.values.flatMap { $0.map(\.learningRate) } })).sorted()
        var rows: [String] = [], values: [[Double?]] = [], marked = Set<[Int]>()
        for (steps, choice) in choices {
            for baseline in choice.ranking {
                let grid = choice.grid[baseline] ?? []
                let row = rates.map { rate in grid.first { $0.learningRate == rate }?.accuracy }
                if let chosen = choice.learningRates[baseline], let column = rates.firstIndex(of: chosen) {
                    marked.insert([rows.count, column])
                }
                rows.append("\(baseline.label) @\(steps)")
                values.append(row)
            }
        }
        var map = HeatMap(title: "Held-out accuracy after tuning runs (outlined: chosen)", rowLabels: rows,
                          columnLabels: rates.map(PipelineFormat.compact), rowCaption: "baseline @ steps",
                          columnCaption: "learning rate", values: values, marked: marked) { PipelineFormat.percent($0) }
        map.colourPerRow = true
        return map
    }

    /// One plain sentence per condition: L3RS against the strongest baseline, with the interval and verdict.
    private func sentence(_ result: PipelineResults.Condition) -> String {
        let name = "\(result.condition.name) (\(result.condition.title), \(result.condition.steps) steps)"
        guard let strongest = result.strongest, let l3rs = result.comparison(PipelinePlan.learnedLabel) else {
            return "\(name): no comparison (an arm is missing)."
        }
        var text = "\(name): the strongest baseline, \(strongest.label), ends at \(Self.accuracy(strongest.final)); L3RS ends at "
            + (result.arms.first { $0.label == PipelinePlan.learnedLabel }.map { Self.accuracy($0.final) } ?? "—")
        text += l3rs.speedup.reached
            ? "; speed-up \(Self.speedup(l3rs)): \(l3rs.verdict.rawValue)"
            : "; its mean curve never reaches the baseline's final mean accuracy (speed-up at most \(String(format: "%.2f×", l3rs.speedup.value))): slower"
        let repeats = plan.repeatLabels.compactMap { label in
            result.comparison(label).map { "\(label) \(Self.speedup($0)) (\($0.verdict.rawValue))" }
        }
        if !repeats.isEmpty { text += ". Meta-trained again with other seeds: " + repeats.joined(separator: ", ") }
        if let oracle = result.comparison(PipelinePlan.oracleLabel) {
            text += ". Schedule oracle: \(Self.speedup(oracle)) (\(oracle.verdict.rawValue))"
        }
        return text + "."
    }
}

/// The elements in first-seen order without repeats.
func orderedUnique(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}
