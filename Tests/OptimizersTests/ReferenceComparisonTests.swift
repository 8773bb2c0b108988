import XCTest
import Optimizers

/// Compares every base optimizer with tools/optimizer_reference.py, both as a pure direction (what L3RS
/// uses) and as a hand-designed optimizer with groups, weight decay, schedule and clipping (the baseline).
final class ReferenceComparisonTests: XCTestCase {
    func testFixtureCoversEveryOptimizer() throws {
        let fixture = try ReferenceFixture.load()
        XCTAssertEqual(Set(fixture.cases.map(\.optimizer)), Set(OptimizerKind.validNames))
        XCTAssertEqual(fixture.cases.count, 2 * OptimizerKind.allCases.count)
    }

    /// Plain cases (no decay, no clipping, constant rate): the rule's direction must equal the reference's.
    func testDirectionsMatchReference() throws {
        for testCase in try ReferenceFixture.load().cases where testCase.name.hasSuffix("-plain") {
            let rule = try OptimizerKind(parsing: testCase.optimizer).makeRule()
            var state = rule.makeState(count: testCase.initialParameters.count)
            for (step, gradient) in testCase.gradients.enumerated() {
                let direction = rule.direction(gradient: gradient, state: &state)
                assertClose(direction, testCase.directions[step], "\(testCase.name) direction at step \(step)")
            }
            XCTAssertEqual(state.step, testCase.gradients.count, testCase.name)
        }
    }

    /// Every case through `HandDesignedOptimizer`, configured from strings as the command line would.
    func testHandDesignedOptimizerMatchesReference() throws {
        for testCase in try ReferenceFixture.load().cases {
            var optimizer = try HandDesignedOptimizer(
                configuration: try testCase.configuration(),
                parameterCount: testCase.initialParameters.count,
                groups: testCase.groups)
            var parameters = testCase.initialParameters
            for (step, gradient) in testCase.gradients.enumerated() {
                let report = optimizer.step(parameters: &parameters, gradient: gradient)
                XCTAssertEqual(report.step, step, testCase.name)
                XCTAssertFalse(report.skipped, testCase.name)
                XCTAssertEqual(report.gradientNorm, testCase.gradientNorms[step],
                               accuracy: 1e-9 * testCase.gradientNorms[step], "\(testCase.name) norm at step \(step)")
                assertClose(parameters, testCase.parametersAfterStep[step], "\(testCase.name) parameters after step \(step)")
            }
        }
    }

    /// The grouped cases really exercise what they claim: clipping and both groups change the result.
    func testGroupedCasesDifferFromPlainOnes() throws {
        let cases = try ReferenceFixture.load().cases
        for kind in OptimizerKind.validNames {
            let plain = try XCTUnwrap(cases.first { $0.name == "\(kind)-plain" })
            let grouped = try XCTUnwrap(cases.first { $0.name == "\(kind)-groups-decay-schedule-clip" })
            XCTAssertEqual(grouped.groups.count, 2)
            XCTAssertNotEqual(plain.parametersAfterStep.last, grouped.parametersAfterStep.last, kind)
        }
    }
}
