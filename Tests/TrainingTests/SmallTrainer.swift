import Distributed
import TestSupport
@testable import Training

/// A `DataParallelTrainer` on the mlp and the digits (both small), on one process unless told otherwise, for
/// tests that compare steps of differently configured trainers from the same start.
enum SmallTrainer {
    static let files = TestFiles(testFile: #filePath, scratchPrefix: "l3rs-small-trainer")

    static func make(communicator: any Communicator = SingleProcessCommunicator(),
                     _ adjust: (inout TrainingConfiguration) -> Void) throws -> DataParallelTrainer {
        var c = TrainingConfiguration()
        c.model = "mlp"
        c.data = "digits"
        c.resize = true
        c.dataDirectory = files.data
        c.learningRate = 0.05
        c.globalBatch = 16
        adjust(&c)
        try c.validate()
        let model = try TrainingRun.makeModel(c, classCount: 10)
        let (train, test) = try DataSplits.load(for: c, model: model)
        return try DataParallelTrainer(configuration: c, communicator: communicator, model: model, trainSet: train, testSet: test)
    }

    /// ‖a − b‖ / ‖a‖.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            difference += Double(x - y) * Double(x - y)
            norm += Double(x) * Double(x)
        }
        return (difference / norm).squareRoot()
    }
}
