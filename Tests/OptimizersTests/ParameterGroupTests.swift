import XCTest
import Optimizers

final class ParameterGroupTests: XCTestCase {
    private func group(_ name: String, _ offset: Int, _ count: Int) -> ParameterGroup {
        ParameterGroup(name: name, offset: offset, count: count)
    }

    func testExactCoverInAnyOrderIsValid() throws {
        try ParameterGroup.validate([group("head", 4, 3), group("body", 0, 4)], parameterCount: 7)
        try ParameterGroup.validate(ParameterGroup.whole(count: 7), parameterCount: 7)
    }

    func testGapsOverlapsAndBoundsAreRejected() {
        XCTAssertThrowsError(try ParameterGroup.validate([group("a", 0, 3), group("b", 4, 3)], parameterCount: 7)) {
            XCTAssertEqual($0 as? ParameterGroupError, .gap(start: 3, end: 4))
        }
        XCTAssertThrowsError(try ParameterGroup.validate([group("a", 0, 5), group("b", 4, 3)], parameterCount: 7)) {
            XCTAssertEqual($0 as? ParameterGroupError, .overlap(group: "b", offset: 4))
        }
        XCTAssertThrowsError(try ParameterGroup.validate([group("a", 0, 8)], parameterCount: 7)) {
            XCTAssertEqual($0 as? ParameterGroupError, .outOfBounds(group: "a", offset: 0, count: 8, parameterCount: 7))
        }
        XCTAssertThrowsError(try ParameterGroup.validate([group("a", 0, 6)], parameterCount: 7)) {
            XCTAssertEqual("\($0)", "parameters 6..<7 belong to no parameter group")
        }
        var negative = group("a", 0, 7)
        negative.learningRateMultiplier = -1
        XCTAssertThrowsError(try ParameterGroup.validate([negative], parameterCount: 7))
        XCTAssertThrowsError(try HandDesignedOptimizer(rule: SGD(), parameterCount: 7, groups: [group("a", 0, 6)],
                                                       learningRate: 0.1))
    }

    /// θ ← θ·(1 − lr_g·wd) − lr_g·d per group, by hand.
    func testApplyUsesGroupMultipliersAndDecayFlags() {
        let groups = [
            ParameterGroup(name: "body", offset: 0, count: 1, learningRateMultiplier: 1, appliesWeightDecay: true),
            ParameterGroup(name: "head", offset: 1, count: 1, learningRateMultiplier: 10, appliesWeightDecay: false),
        ]
        var parameters: [Float] = [1, 2]
        let direction: [Float] = [1, 1]
        direction.withUnsafeBufferPointer { d in
            parameters.withUnsafeMutableBufferPointer { p in
                ParameterUpdate.apply(direction: d, to: p, groups: groups, learningRate: 0.1, decoupledWeightDecay: 0.5)
            }
        }
        XCTAssertEqual(parameters[0], 1 - 0.1 * 0.5 * 1 - 0.1, accuracy: 1e-6)
        XCTAssertEqual(parameters[1], 2 - 1.0, accuracy: 1e-6)
    }

    func testCoupledWeightDecayOnlyInDecayedGroups() {
        let groups = [
            ParameterGroup(name: "weights", offset: 0, count: 2, appliesWeightDecay: true),
            ParameterGroup(name: "biases", offset: 2, count: 1, appliesWeightDecay: false),
        ]
        let gradient: [Float] = [1, 1, 1]
        let parameters: [Float] = [2, -4, 8]
        var effective = [Float](repeating: 0, count: 3)
        gradient.withUnsafeBufferPointer { g in
            parameters.withUnsafeBufferPointer { p in
                effective.withUnsafeMutableBufferPointer { e in
                    ParameterUpdate.addCoupledWeightDecay(gradient: g, parameters: p, groups: groups,
                                                          weightDecay: 0.25, into: e)
                }
            }
        }
        XCTAssertEqual(effective, [1.5, 0, 1])

        // With a clipping scale folded in: s·g + wd·θ.
        gradient.withUnsafeBufferPointer { g in
            parameters.withUnsafeBufferPointer { p in
                effective.withUnsafeMutableBufferPointer { e in
                    ParameterUpdate.addCoupledWeightDecay(gradient: g, gradientScale: 0.5, parameters: p,
                                                          groups: groups, weightDecay: 0.25, into: e)
                }
            }
        }
        XCTAssertEqual(effective, [1, -0.5, 0.5])
    }

    /// A group with its own schedule steps at learningRate × schedule_g(k) × m_g; the others follow the
    /// optimizer's schedule (reference: plain SGD computed by hand).
    func testGroupScheduleOverridesTheOptimizerSchedule() throws {
        let groups = [
            ParameterGroup(name: "body", offset: 0, count: 1),
            ParameterGroup(name: "head", offset: 1, count: 1, learningRateMultiplier: 3, schedule: .linear(totalSteps: 4)),
        ]
        var optimizer = try HandDesignedOptimizer(rule: OptimizerKind.sgd.makeRule(), parameterCount: 2, groups: groups,
                                                  learningRate: 0.1, schedule: .cosine(totalSteps: 4))
        var parameters: [Float] = [0, 0]
        var expected: [Double] = [0, 0]
        for step in 0..<4 {
            optimizer.step(parameters: &parameters, gradient: [1, 1])
            expected[0] -= 0.1 * LearningRateSchedule.cosine(totalSteps: 4).multiplier(atStep: step)
            expected[1] -= 0.1 * 3 * (1 - Double(step) / 4)
        }
        XCTAssertEqual(Double(parameters[0]), expected[0], accuracy: 1e-6)
        XCTAssertEqual(Double(parameters[1]), expected[1], accuracy: 1e-6)
        XCTAssertNotEqual(expected[0], expected[1] / 3, "the two schedules differ, so the test can tell them apart")
    }
}
