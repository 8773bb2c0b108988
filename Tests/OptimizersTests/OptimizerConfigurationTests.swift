import Foundation
import XCTest
import Optimizers

final class OptimizerConfigurationTests: XCTestCase {
    func testEveryValidNameParses() throws {
        XCTAssertEqual(OptimizerKind.validNames, ["sgd", "momentum", "nesterov", "adam", "adamw", "lion", "rmsprop"])
        for name in OptimizerKind.validNames {
            XCTAssertEqual(try OptimizerKind(parsing: name).rawValue, name)
        }
        XCTAssertEqual(try OptimizerKind(parsing: "  AdamW\n"), .adamw)
        XCTAssertEqual(ScheduleKind.validNames, ["constant", "cosine", "warmup-cosine", "linear"])
        XCTAssertEqual(try ScheduleKind(parsing: "Warmup-Cosine"), .warmupCosine)
    }

    func testUnknownOptimizerListsTheValidNames() {
        XCTAssertThrowsError(try OptimizerKind(parsing: "adagrad")) { error in
            XCTAssertEqual(error as? OptimizerConfigurationError,
                           .unknownOptimizer("adagrad", validNames: OptimizerKind.validNames))
            XCTAssertEqual("\(error)",
                           "unknown optimizer 'adagrad'; valid optimizers: sgd, momentum, nesterov, adam, adamw, lion, rmsprop")
        }
    }

    func testUnknownScheduleListsTheValidNames() {
        XCTAssertThrowsError(try ScheduleKind(parsing: "step")) { error in
            XCTAssertEqual("\(error)",
                           "unknown learning-rate schedule 'step'; valid schedules: constant, cosine, warmup-cosine, linear")
        }
    }

    func testDecodesWithDefaults() throws {
        let json = #"{"optimizer": "adamw", "learningRate": 0.001, "schedule": "warmup-cosine", "warmupSteps": 10, "totalSteps": 100}"#
        let configuration = try JSONDecoder().decode(OptimizerConfiguration.self, from: Data(json.utf8))
        XCTAssertEqual(configuration, OptimizerConfiguration(optimizer: .adamw, learningRate: 0.001,
                                                             schedule: .warmupCosine, warmupSteps: 10, totalSteps: 100))
        let encoded = try JSONEncoder().encode(configuration)
        XCTAssertEqual(try JSONDecoder().decode(OptimizerConfiguration.self, from: encoded), configuration)
    }

    func testDecodingAnUnknownNameGivesTheListedError() {
        let json = #"{"optimizer": "adamax", "learningRate": 0.001}"#
        XCTAssertThrowsError(try JSONDecoder().decode(OptimizerConfiguration.self, from: Data(json.utf8))) { error in
            guard case let DecodingError.dataCorrupted(context) = error else {
                return XCTFail("expected dataCorrupted, got \(error)")
            }
            XCTAssertEqual(context.debugDescription,
                           "optimizer must be one of sgd, momentum, nesterov, adam, adamw, lion, rmsprop, got 'adamax' (did you mean 'adam'?)")
        }
    }

    func testValidationNamesTheProblem() {
        let cases: [(OptimizerConfiguration, String)] = [
            (OptimizerConfiguration(optimizer: .sgd, learningRate: 0), "learning rate"),
            (OptimizerConfiguration(optimizer: .sgd, learningRate: .nan), "learning rate"),
            (OptimizerConfiguration(optimizer: .sgd, learningRate: 0.1, weightDecay: -1), "weight decay"),
            (OptimizerConfiguration(optimizer: .sgd, learningRate: 0.1, schedule: .cosine), "total steps"),
            (OptimizerConfiguration(optimizer: .sgd, learningRate: 0.1, schedule: .warmupCosine, warmupSteps: 20,
                                    totalSteps: 10), "warm-up steps"),
            (OptimizerConfiguration(optimizer: .sgd, learningRate: 0.1, finalLearningRateFraction: 2),
             "final learning-rate fraction"),
            (OptimizerConfiguration(optimizer: .sgd, learningRate: 0.1, maxGradientNorm: 0), "max gradient norm"),
        ]
        for (configuration, field) in cases {
            XCTAssertThrowsError(try configuration.validate(), field) { error in
                guard case let .invalidValue(reportedField, _, _) = error as? OptimizerConfigurationError else {
                    return XCTFail("expected invalidValue for \(field), got \(error)")
                }
                XCTAssertEqual(reportedField, field)
            }
        }
        XCTAssertNoThrow(try OptimizerConfiguration(optimizer: .lion, learningRate: 1e-4, weightDecay: 0.1,
                                                    schedule: .cosine, totalSteps: 1000, maxGradientNorm: 1).validate())
    }
}
