import Foundation
import XCTest
import Optimizers

/// The cases tools/optimizer_reference.py writes: independent float64 numpy implementations of each
/// published algorithm, run on a fixed gradient sequence.
struct ReferenceFixture: Decodable {
    struct Schedule: Decodable {
        var warmupSteps: Int
        var totalSteps: Int
        var finalFraction: Double
    }

    struct Case: Decodable {
        var name: String
        var optimizer: String
        var learningRate: Double
        var weightDecay: Double
        var schedule: Schedule?
        var maxGradNorm: Double?
        /// The fixture's groups use `ParameterGroup`'s own keys (no schedule: the optimizer's).
        var groups: [ParameterGroup]
        var initialParameters: [Float]
        var gradients: [[Float]]
        var gradientNorms: [Double]
        var parametersAfterStep: [[Double]]
        var directions: [[Double]]

        /// The configuration this case describes, built through the string-parsing path the CLI uses.
        func configuration() throws -> OptimizerConfiguration {
            OptimizerConfiguration(
                optimizer: try OptimizerKind(parsing: optimizer),
                learningRate: learningRate,
                weightDecay: weightDecay,
                schedule: schedule == nil ? .constant : try ScheduleKind(parsing: "warmup-cosine"),
                warmupSteps: schedule?.warmupSteps ?? 0,
                totalSteps: schedule?.totalSteps,
                finalLearningRateFraction: schedule?.finalFraction ?? 0,
                maxGradientNorm: maxGradNorm)
        }
    }

    var generator: String
    var cases: [Case]

    static func load() throws -> ReferenceFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "optimizer_reference", withExtension: "json",
                                                  subdirectory: "Fixtures"),
                                "Fixtures/optimizer_reference.json missing; run tools/optimizer_reference.py")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ReferenceFixture.self, from: Data(contentsOf: url))
    }
}

/// Asserts |actual − expected| ≤ 1e-5·|expected| + 1e-6 element-wise: Float32 arithmetic against a float64
/// reference over ten steps. The small absolute floor covers entries that cross zero.
func assertClose(_ actual: [Float], _ expected: [Double], relative: Double = 1e-5, absolute: Double = 1e-6,
                 _ message: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, message(), file: file, line: line)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        let error = abs(Double(a) - e)
        if !(error <= relative * abs(e) + absolute) {
            XCTFail("\(message()) element \(index): got \(a), expected \(e) (error \(error))", file: file, line: line)
        }
    }
}
