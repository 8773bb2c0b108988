import Distributed
import Foundation
import Reports

/// The learning rate of every tuned baseline at one horizon, chosen on its grid by held-out (meta-validation)
/// accuracy at the end of a run of that many steps, the mean over `tuningSeeds` seeds (ties go to the smaller
/// learning rate), and the baselines ranked by that accuracy, best first.
public struct PipelineTuning: Sendable {
    /// Held-out accuracy of every grid point, in grid order, per baseline.
    public var grid: [PipelineBaseline: [(learningRate: Double, accuracy: Double?)]]
    public var learningRates: [PipelineBaseline: Double]
    public var best: PipelineBaseline
    /// Grid size per baseline, to tell a choice at the grid's smallest or largest learning rate.
    var gridSizes: [PipelineBaseline: Int] = [:]
    var chosenIndices: [PipelineBaseline: Int] = [:]
    /// The tuned baselines, best held-out accuracy first.
    public var ranking: [PipelineBaseline] = []
    /// The steps of the tuning runs: the horizon the choice is for.
    public var steps: Int = 0

    /// The choice is the grid's first or last point: the true optimum may lie outside the grid.
    public func isAtGridEdge(_ baseline: PipelineBaseline) -> Bool {
        guard let index = chosenIndices[baseline], let count = gridSizes[baseline], count > 1 else { return false }
        return index == 0 || index == count - 1
    }

    /// Reads the tuning runs' final held-out accuracies (rank 0), gives every rank the same numbers, and
    /// chooses. `stages` lists every grid point's `runsPerPoint` seeds one after another (`tuningStages`).
    static func choose(stages: [(baseline: PipelineBaseline, learningRate: Double, stage: PipelineStage)], steps: Int,
                       runsPerPoint: Int = 1, communicator: any Communicator) throws -> PipelineTuning {
        let accuracies = try heldOutAccuracies(stages.map(\.stage), communicator: communicator)
        let points = stride(from: 0, to: stages.count, by: max(runsPerPoint, 1)).map { (stages[$0].baseline, stages[$0].learningRate) }
        return choose(points: points, accuracies: meanPerPoint(accuracies, runsPerPoint: runsPerPoint), steps: steps)
    }

    /// The choice from every grid point's held-out accuracy (nil: missing or diverged, below every number).
    public static func choose(points: [(baseline: PipelineBaseline, learningRate: Double)], accuracies: [Double?],
                              steps: Int) -> PipelineTuning {
        var grid: [PipelineBaseline: [(learningRate: Double, accuracy: Double?)]] = [:]
        var order: [PipelineBaseline] = []
        for (item, accuracy) in zip(points, accuracies) {
            if grid[item.baseline] == nil { order.append(item.baseline) }
            grid[item.baseline, default: []].append((item.learningRate, accuracy))
        }
        var tuning = PipelineTuning(grid: grid, learningRates: [:], best: order[0], steps: steps)
        var scores: [PipelineBaseline: Double] = [:]
        for baseline in order {
            let points = grid[baseline] ?? []
            var chosen = 0
            for (i, point) in points.enumerated() where (point.accuracy ?? -1) > (points[chosen].accuracy ?? -1) { chosen = i }
            tuning.learningRates[baseline] = points[chosen].learningRate
            tuning.gridSizes[baseline] = points.count
            tuning.chosenIndices[baseline] = chosen
            scores[baseline] = points[chosen].accuracy ?? -1
        }
        // Stable: equal accuracies keep the configuration's order.
        tuning.ranking = order.enumerated().sorted { a, b in
            let (x, y) = (scores[a.element] ?? -1, scores[b.element] ?? -1)
            return x != y ? x > y : a.offset < b.offset
        }.map(\.element)
        tuning.best = tuning.ranking[0]
        return tuning
    }

    /// The final held-out accuracy of each stage (nil when missing or not finite), read by rank 0 and
    /// broadcast bit for bit, so every rank makes the same choices.
    static func heldOutAccuracies(_ stages: [PipelineStage], communicator: any Communicator) throws -> [Double?] {
        try stages.map { stage in
            let value = communicator.isRoot ? (try StageMetrics(folder: stage.folder).final("validation_accuracy") ?? .nan) : .nan
            let shared = Double(bitPattern: try communicator.broadcast(value.bitPattern, root: 0))
            return shared.isFinite ? shared : nil
        }
    }

    /// The mean held-out accuracy of each point's consecutive `runsPerPoint` runs (their seeds): nil when any
    /// of them is missing or diverged, so a rate that fails for one seed is never chosen over one that does not.
    public static func meanPerPoint(_ accuracies: [Double?], runsPerPoint: Int) -> [Double?] {
        let n = max(runsPerPoint, 1)
        return stride(from: 0, to: accuracies.count, by: n).map { start in
            let runs = accuracies[start..<min(start + n, accuracies.count)]
            guard runs.count == n, runs.allSatisfy({ $0 != nil }) else { return nil }
            return runs.reduce(0) { $0 + $1! } / Double(n)
        }
    }
}

/// The schedule oracle's search: every configuration's held-out accuracy (the mean over `tuningSeeds` runs) and
/// the one selected.
public struct OracleSearch: Sendable {
    public var schedules: [OracleSchedule]
    public var accuracies: [Double?]
    public var chosen: Int

    public var selected: OracleSchedule { schedules[chosen] }

    /// `stages` lists every configuration's `runsPerConfiguration` seeds one after another (`oracleStages`); a
    /// configuration's accuracy is their mean.
    static func choose(_ stages: [(schedule: OracleSchedule, stage: PipelineStage)], runsPerConfiguration: Int = 1,
                       communicator: any Communicator) throws -> OracleSearch {
        let n = max(runsPerConfiguration, 1)
        let accuracies = PipelineTuning.meanPerPoint(try PipelineTuning.heldOutAccuracies(stages.map(\.stage), communicator: communicator),
                                                     runsPerPoint: n)
        let schedules = stride(from: 0, to: stages.count, by: n).map { stages[$0].schedule }
        var chosen = 0
        for (i, accuracy) in accuracies.enumerated() where (accuracy ?? -1) > (accuracies[chosen] ?? -1) { chosen = i }
        return OracleSearch(schedules: schedules, accuracies: accuracies, chosen: chosen)
    }
}
