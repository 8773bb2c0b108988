import Foundation
import Training

extension TrainingConfiguration {
    /// A seconds-long fine-tuning run of the mlp on the 8×8 digits, in `folder`/`name`: batch 16, no
    /// evaluation, a checkpoint every 2 steps and no progress lines. The resume tests of the hand-designed and
    /// the learned optimizers run it (stopped after step 2, resumed, compared with an uninterrupted run).
    public static func mlpOnDigits(in folder: URL, name: String, optimizer: TrainingOptimizer, steps: Int,
                                   dataDirectory: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.name = name
        c.runsDirectory = folder.path
        c.model = "mlp"
        c.data = "digits"
        c.resize = true
        c.dataDirectory = dataDirectory
        c.optimizer = optimizer
        c.globalBatch = 16
        c.steps = steps
        c.evalEvery = 0
        c.checkpointEvery = 2
        c.progressSeconds = 1000
        return c
    }
}
