import Datasets
import Distributed
import Foundation
import MetaTraining
import Network
import TestSupport
import Training
import XCTest

/// Baselines are tuned on the learned optimizer's meta-validation images: a fine-tune with
/// `evaluationSplit: validation` evaluates on exactly the held-out set meta-training uses with the same seed
/// and fraction, and trains on exactly the rest (never on the test split).
final class ValidationSplitAgreementTests: XCTestCase {
    func testTuningRunsEvaluateOnMetaTrainingsValidationSplit() throws {
        let data = MPIRun.dataDirectory
        var meta = MetaTrainingConfiguration()
        meta.data = "mnist-5k"
        meta.dataDirectory = data
        meta.weights = data + "/ccexam/mnist.pth"
        meta.validationFraction = 0.15
        meta.seed = 7
        meta.globalBatch = 16
        meta.validationBatch = 16
        meta.truncation = 2
        meta.horizon = 4
        let trainer = try MetaTrainingRun.makeTrainer(meta, communicator: SingleProcessCommunicator())

        var tuning = TrainingConfiguration()
        tuning.data = "mnist-5k"
        tuning.dataDirectory = data
        tuning.evaluationSplit = .validation
        tuning.validationFraction = 0.15
        tuning.validationSeed = 7
        let model = try ModelZoo.make(named: "ccexam-mnist", classCount: 10, seed: 0)
        let (train, validation) = try DataSplits.load(for: tuning, model: model)

        XCTAssertEqual(validation.count, trainer.validationSet.count)
        XCTAssertEqual(validation.labels, trainer.validationSet.labels)
        XCTAssertEqual(validation.gather(Array(0..<validation.count)).images,
                       trainer.validationSet.gather(Array(0..<validation.count)).images)
        XCTAssertEqual(train.labels, trainer.trainSet.labels)

        // The default is unchanged: the test split.
        tuning.evaluationSplit = .test
        XCTAssertEqual(try DataSplits.load(for: tuning, model: model).evaluation.count, 1000)
        tuning.evaluationLimit = 100
        XCTAssertEqual(try DataSplits.load(for: tuning, model: model).evaluation.count, 100)
    }
}
