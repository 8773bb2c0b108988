import Distributed
import Foundation
import Reports

/// The learning rate of every baseline, chosen on its grid by meta-validation accuracy at the end of the
/// tuning run (ties go to the smaller learning rate), and the best baseline overall.
public struct PipelineTuning: Sendable {
    /// Meta-validation accuracy of every grid point, in grid order, per baseline.
    public var grid: [PipelineBaseline: [(learningRate: Double, accuracy: Double?)]]
    public var learningRates: [PipelineBaseline: Double]
    public var best: PipelineBaseline
    /// Grid size per baseline, to tell a choice at the grid's smallest or largest learning rate.
    var gridSizes: [PipelineBaseline: Int] = [:]
    var chosenIndices: [PipelineBaseline: Int] = [:]

    /// The choice is the grid's first or last point: the true optimum may lie outside the grid.
    public func isAtGridEdge(_ baseline: PipelineBaseline) -> Bool {
        guard let index = chosenIndices[baseline], let count = gridSizes[baseline], count > 1 else { return false }
        return index == 0 || index == count - 1
    }

    /// Reads the tuning runs' metrics (rank 0) and broadcasts the choices.
    static func choose(plan: PipelinePlan, communicator: any Communicator) throws -> PipelineTuning {
        var grid: [PipelineBaseline: [(learningRate: Double, accuracy: Double?)]] = [:]
        if communicator.isRoot {
            for (baseline, learningRate, stage) in plan.tuningStages {
                let metrics = try StageMetrics(folder: stage.folder)
                grid[baseline, default: []].append((learningRate, metrics.final("validation_accuracy")))
            }
        }
        var learningRates: [PipelineBaseline: Double] = [:]
        var gridSizes: [PipelineBaseline: Int] = [:], chosenIndices: [PipelineBaseline: Int] = [:]
        var bestIndex = 0, bestAccuracy = -Double.infinity
        for (b, baseline) in plan.baselines.enumerated() {
            let lrs = plan.configuration.learningRateGrids[baseline.optimizer] ?? []
            var chosen = 0
            if communicator.isRoot, let points = grid[baseline] {
                for (i, point) in points.enumerated() where (point.accuracy ?? -1) > (points[chosen].accuracy ?? -1) { chosen = i }
                if let accuracy = points[chosen].accuracy, accuracy > bestAccuracy { bestAccuracy = accuracy; bestIndex = b }
            }
            chosen = Int(try communicator.broadcast(UInt64(chosen), root: 0))
            learningRates[baseline] = lrs[chosen]
            gridSizes[baseline] = lrs.count
            chosenIndices[baseline] = chosen
        }
        bestIndex = Int(try communicator.broadcast(UInt64(bestIndex), root: 0))
        return PipelineTuning(grid: grid, learningRates: learningRates, best: plan.baselines[bestIndex], gridSizes: gridSizes,
                              chosenIndices: chosenIndices)
    }
}
