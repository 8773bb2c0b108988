import Datasets
import Foundation
import Reports

/// report.md, report.html and plots/ in the pipeline's folder, built only from the stages' own metrics files:
/// tuning grids and choices, accuracy at fixed steps, steps to reach the best baseline and the speed-up,
/// wall times, curves, λ and μ per layer over time, and the meta-training curves.
struct PipelineReport {
    let plan: PipelinePlan
    let choice: PipelineTuning

    /// The section headings, in order (the tests check every one is there).
    static let sections = [
        "Verdict", "Test accuracy at fixed steps", "Steps to reach the best baseline's final accuracy",
        "Learning-rate tuning", "Wall time", "Loss and accuracy curves", "λ and μ per layer over time",
        "Meta-training",
    ]

    /// An optimizer's evaluation runs, one per condition it ran in.
    struct Evaluation {
        let condition: PipelineCondition
        let optimizer: String
        let metrics: StageMetrics
        var isLearned: Bool { optimizer.hasPrefix(PipelinePlan.learnedLabel) }
    }

    func write() throws -> (markdown: URL, html: URL) {
        let document = try build()
        let folder = plan.folder
        let plots = folder.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        for (file, svg) in document.plots {
            try Data(svg.utf8).write(to: plots.appendingPathComponent(file), options: .atomic)
        }
        let markdown = folder.appendingPathComponent("report.md"), html = folder.appendingPathComponent("report.html")
        try Data(document.markdown(plotFolder: "plots").utf8).write(to: markdown, options: .atomic)
        try Data(document.html().utf8).write(to: html, options: .atomic)
        return (markdown, html)
    }

    func build() throws -> ReportDocument {
        let c = plan.configuration
        let stages = plan.evaluationStages(chosen: choice.learningRates, best: choice.best)
        let evaluations = try stages.map { Evaluation(condition: $0.condition, optimizer: $0.optimizer, metrics: try StageMetrics(folder: $0.stage.folder)) }
        let optimizers = orderedUnique(evaluations.map(\.optimizer))
        func evaluation(_ optimizer: String, _ condition: PipelineCondition) -> Evaluation? {
            evaluations.first { $0.optimizer == optimizer && $0.condition == condition }
        }

        var doc = ReportDocument(title: "L3RS pipeline report: \(c.name)")
        doc.paragraph("Backbone \(c.model) (\(c.weights), head re-initialised). L3RS meta-trained on \(c.seenData) for \(c.metaSteps) meta-steps (truncation \(c.truncation), horizon H = \(c.horizon) steps, \(c.innerRuns) inner runs, meta-learning rate \(PipelineFormat.compact(c.metaLearningRate)), λ0 = \(PipelineFormat.compact(c.baseLearningRate)), initial Adam logit \(PipelineFormat.compact(c.initialPreferredLogit)), step-size penalty ρ = \(PipelineFormat.compact(c.stepSizePenalty)), meta-validation: \(PipelineFormat.percent(c.validationFraction)) of the training split). Every fine-tune: global batch \(c.globalBatch), evaluation every \(c.evalEvery) steps; the same steps and data for every optimizer. Baseline learning rates were tuned on the same meta-validation split, by \(c.tuningSteps)-step runs on \(c.seenData), and used unchanged in every condition (the learned optimizer, too, has seen only \(c.seenData)). Every number below is read from the runs' metrics files under this folder." + (c.evaluationLimit > 0 ? " Evaluation used only the first \(c.evaluationLimit) images of each evaluation split (a quick check, not a result)." : ""))

        // Steps to reach: per condition, the baseline with the best final test accuracy sets the target.
        var reachRows: [[String]] = []
        var verdicts: [String] = []
        for condition in plan.conditions {
            let baselines = evaluations.filter { $0.condition == condition && !$0.isLearned }
            guard let best = baselines.max(by: { ($0.metrics.final("test_accuracy") ?? -1) < ($1.metrics.final("test_accuracy") ?? -1) }),
                  let target = best.metrics.final("test_accuracy") else { continue }
            let baselineSteps = best.metrics.firstStep("test_accuracy", reaching: target)
            for learned in evaluations where learned.condition == condition && learned.isLearned {
                let steps = learned.metrics.firstStep("test_accuracy", reaching: target)
                let final = learned.metrics.final("test_accuracy")
                var speedup = "—", verdict: String
                if let steps, let baselineSteps {
                    let ratio = Double(baselineSteps) / Double(steps)
                    speedup = String(format: "%.2f×", ratio)
                    verdict = ratio > 1 ? "faster" : (ratio == 1 ? "same speed" : "slower: loses")
                } else {
                    verdict = "never reaches it: loses"
                }
                reachRows.append([condition.name, best.optimizer, PipelineFormat.percent(target), baselineSteps.map(String.init) ?? "—",
                                  learned.optimizer, steps.map(String.init) ?? "not reached", speedup,
                                  PipelineFormat.percent(final), verdict])
                if learned.optimizer == PipelinePlan.learnedLabel {
                    verdicts.append(sentence(condition: condition, best: best.optimizer, target: target, baselineSteps: baselineSteps,
                                             steps: steps, final: final))
                }
            }
        }

        doc.heading("Verdict")
        doc.bullets(verdicts)
        doc.paragraph("The goal (issue 6): on seen data L3RS reaches the best tuned baseline's final accuracy in at most half the steps (speed-up ≥ 2), and on unseen data it is still faster than the best baseline (speed-up > 1). Steps are counted at the evaluation points (every \(c.evalEvery) steps).")

        doc.heading("Test accuracy at fixed steps")
        var header = ["optimizer"]
        var columns: [(PipelineCondition, Int)] = []
        for condition in plan.conditions {
            for step in condition.reportedSteps {
                header.append("\(condition.name) @\(step)")
                columns.append((condition, step))
            }
        }
        var accuracy = Table(header: header)
        for optimizer in optimizers {
            accuracy.append([optimizer] + columns.map { condition, step in
                PipelineFormat.percent(evaluation(optimizer, condition)?.metrics.value("test_accuracy", at: step))
            })
        }
        doc.table(accuracy)
        let collapsed = plan.conditions.flatMap { condition -> [String] in
            let chance = 1 / Double(max((try? DatasetRegistry.descriptor(named: condition.data).classCount) ?? 10, 1))
            return evaluations.filter { $0.condition == condition && ($0.metrics.final("test_accuracy") ?? 1) < chance + 0.05 }
                .map { "\($0.optimizer) in \(condition.name)" }
        }
        if !collapsed.isEmpty {
            doc.paragraph("Ended at chance level (diverged; each learning rate was tuned on \(c.seenData) and used unchanged in every condition): \(collapsed.joined(separator: ", ")).")
        }
        doc.paragraph("Conditions: " + plan.conditions.map { "\($0.name) = \($0.title), \($0.steps) steps" }.joined(separator: "; ") + ". — : not run in that condition (the longer horizons run L3RS against the best tuned baseline, \(choice.best.label), unless longHorizonAllBaselines is set). Ablations: " + plan.ablations.map { "\($0.label) = \($0.summary)" }.joined(separator: "; ") + ".")

        doc.heading("Steps to reach the best baseline's final accuracy")
        doc.table(Table(header: ["condition", "best baseline", "its final test accuracy", "its steps to reach it", "optimizer",
                                 "steps to reach it", "speed-up", "optimizer's final test accuracy", "verdict"], rows: reachRows))

        doc.heading("Learning-rate tuning")
        var tuningTable = Table(header: ["baseline", "learning rate", "meta-validation accuracy", "chosen"])
        for baseline in plan.baselines {
            for point in choice.grid[baseline] ?? [] {
                let chosen = choice.learningRates[baseline] == point.learningRate
                tuningTable.append([baseline.label, PipelineFormat.compact(point.learningRate), PipelineFormat.percent(point.accuracy),
                                    chosen ? (choice.isAtGridEdge(baseline) ? "yes (grid edge)" : "yes") : ""])
            }
        }
        let edges = plan.baselines.filter { choice.isAtGridEdge($0) }.map(\.label)
        doc.paragraph("Each baseline ran \(c.tuningSteps) steps on \(c.seenData) at every learning rate of its log grid; the meta-validation accuracy at the end chose the learning rate. Best tuned baseline overall: \(choice.best.label). "
            + (edges.isEmpty ? "Every choice lies inside its grid."
               : "Chosen at the edge of the grid (its optimum may lie outside; widen learningRateGrids to be sure): \(edges.joined(separator: ", "))."))
        doc.table(tuningTable)

        doc.heading("Wall time")
        var wall = Table(header: ["stage", "steps", "wall time"])
        var metaSeconds = 0.0, fineTuneSeconds = 0.0, tuneSeconds = 0.0
        for (_, stage) in plan.metaTrainingStages {
            let metrics = try StageMetrics(folder: stage.folder)
            let seconds = metrics.final("seconds", x: "meta_step") ?? 0
            metaSeconds += seconds
            wall.append([stage.id, (metrics.final("meta_step", x: "meta_step")).map { "\(Int($0)) meta-steps" } ?? "—", PipelineFormat.seconds(seconds)])
        }
        let pretrain = try StageMetrics(folder: plan.pretrainStage.folder)
        wall.append([plan.pretrainStage.id, pretrain.final("step").map { String(Int($0)) } ?? "—", PipelineFormat.seconds(pretrain.final("seconds"))])
        for (_, _, stage) in plan.tuningStages {
            tuneSeconds += (try StageMetrics(folder: stage.folder)).final("seconds") ?? 0
        }
        for (evaluation, stage) in zip(evaluations, stages) {
            let seconds = evaluation.metrics.final("seconds")
            fineTuneSeconds += seconds ?? 0
            wall.append([stage.stage.id, evaluation.metrics.final("step").map { String(Int($0)) } ?? "—", PipelineFormat.seconds(seconds)])
        }
        doc.paragraph("Meta-training (L3RS and its ablations) took " + PipelineFormat.seconds(metaSeconds) + "; the \(plan.tuningStages.count) tuning runs " + PipelineFormat.seconds(tuneSeconds) + "; the evaluation fine-tunes " + PipelineFormat.seconds(fineTuneSeconds) + " (training and evaluation time from each run's metrics; a resumed run counts from its resume). Meta-training L3RS once costs as much as \(String(format: "%.1f", (try StageMetrics(folder: plan.metaTrainingStages[0].stage.folder)).final("seconds", x: "meta_step").map { $0 / max(fineTuneSeconds / Double(max(evaluations.count, 1)), 1e-9) } ?? .nan)) average evaluation fine-tunes.")
        doc.table(wall)

        doc.heading("Loss and accuracy curves")
        doc.paragraph("Dashed: hand-designed baselines; solid: L3RS and its ablations. Training loss is a moving average over 10 steps of the training batches; test accuracy is measured every \(c.evalEvery) steps.")
        for condition in plan.conditions {
            let runs = evaluations.filter { $0.condition == condition }
            doc.plot("loss-\(condition.name).svg", LinePlot(
                title: "Training loss: \(condition.name) (\(condition.title))", xLabel: "step", yLabel: "loss",
                series: runs.map { .init(name: $0.optimizer, points: movingAverage($0.metrics.points("loss"), window: 10), dashed: !$0.isLearned) },
                logY: true))
            doc.plot("accuracy-\(condition.name).svg", LinePlot(
                title: "Test accuracy: \(condition.name) (\(condition.title))", xLabel: "step", yLabel: "test accuracy",
                series: runs.map { .init(name: $0.optimizer, points: $0.metrics.points("test_accuracy"), dashed: !$0.isLearned) }))
        }

        doc.heading("λ and μ per layer over time")
        doc.paragraph("From l3rs.jsonl of the learned optimizer's fine-tune on the seen data (every step): λ_l is the step size of layer l, μ_l,p the weight of base optimizer p's normalised direction in layer l.")
        if let seen = plan.conditions.first, let stage = stages.first(where: { $0.condition == seen && $0.optimizer == PipelinePlan.learnedLabel }) {
            let log = try StageMetrics(folder: stage.stage.folder, file: "l3rs.jsonl")
            let lambdas = log.keys(withPrefix: "lambda/")
            doc.plot("lambda-per-layer.svg", LinePlot(
                title: "λ per layer (\(seen.name))", xLabel: "step", yLabel: "λ",
                series: lambdas.map { .init(name: String($0.dropFirst("lambda/".count)), points: log.points($0)) }, logY: true))
            let mus = log.keys(withPrefix: "mu/")
            let bases = orderedUnique(mus.compactMap { $0.split(separator: "/").last.map(String.init) })
            for base in bases {
                let keys = mus.filter { $0.hasSuffix("/" + base) }
                doc.plot("mu-\(base)-per-layer.svg", LinePlot(
                    title: "μ of \(base) per layer (\(seen.name))", xLabel: "step", yLabel: "μ",
                    series: keys.map { .init(name: String($0.dropFirst("mu/".count).dropLast(base.count + 1)), points: log.points($0)) }))
            }
        }

        doc.heading("Meta-training")
        doc.paragraph("Meta-loss (validation loss after each truncation, moving average over 5 meta-steps) of L3RS and of each ablation.")
        let metaRuns = try plan.metaTrainingStages.map { ($0.label, try StageMetrics(folder: $0.stage.folder)) }
        doc.plot("meta-training.svg", LinePlot(
            title: "Meta-training curve", xLabel: "meta-step", yLabel: "meta-loss",
            series: metaRuns.map { .init(name: $0.0, points: movingAverage($0.1.points("meta_loss", x: "meta_step"), window: 5)) }))
        return doc
    }

    /// One plain sentence per condition, saying where L3RS loses.
    private func sentence(condition: PipelineCondition, best: String, target: Double, baselineSteps: Int?, steps: Int?,
                          final: Double?) -> String {
        let head = "\(condition.name) (\(condition.title)): the best baseline, \(best), ends at \(PipelineFormat.percent(target))"
            + (baselineSteps.map { " (first reached at step \($0))" } ?? "")
        guard let steps, let baselineSteps else {
            return head + "; L3RS ends at \(PipelineFormat.percent(final)) and never reaches it: L3RS loses here."
        }
        let ratio = Double(baselineSteps) / Double(steps)
        var text = head + "; L3RS reaches it at step \(steps), a speed-up of " + String(format: "%.2f×", ratio)
        if ratio < 1 { text += ": L3RS is slower and loses here" }
        if condition.name == "seen" { text += ratio >= 2 ? " (goal ≥ 2× met)" : " (goal ≥ 2× not met)" }
        if condition.name == "unseen" { text += ratio > 1 ? " (goal: faster, met)" : " (goal: faster, not met)" }
        return text + "."
    }
}

/// The elements in first-seen order without repeats.
func orderedUnique(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}
