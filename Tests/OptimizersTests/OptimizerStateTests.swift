import XCTest
import Optimizers

final class OptimizerStateTests: XCTestCase {
    private let gradients: [[Float]] = [[0.5, -1, 2], [0.1, 0.3, -0.7], [-2, 0.05, 1], [1, 1, -1], [0.2, -0.4, 0.6]]

    /// A copy stored mid-run is unaffected by later steps, and replaying it reproduces the run exactly:
    /// what truncated meta-training relies on.
    func testStateCopiesAreIndependentAndReplayExactly() {
        for kind in OptimizerKind.allCases {
            let rule = kind.makeRule()
            var state = rule.makeState(count: 3)
            for gradient in gradients.prefix(2) { _ = rule.direction(gradient: gradient, state: &state) }
            let stored = state
            let storedCopy = stored
            var originalDirections: [[Float]] = []
            for gradient in gradients.dropFirst(2) {
                originalDirections.append(rule.direction(gradient: gradient, state: &state))
            }
            XCTAssertEqual(stored, storedCopy, "\(kind): stored state changed when the original advanced")
            XCTAssertEqual(stored.step, 2, "\(kind)")
            XCTAssertNotEqual(stored, state, "\(kind)")

            var replayed = stored
            var replayedDirections: [[Float]] = []
            for gradient in gradients.dropFirst(2) {
                replayedDirections.append(rule.direction(gradient: gradient, state: &replayed))
            }
            XCTAssertEqual(replayed, state, "\(kind): replay diverged")
            XCTAssertEqual(replayedDirections, originalDirections, "\(kind): replay diverged")
        }
    }

    func testHandDesignedOptimizerCopiesAreIndependent() throws {
        var optimizer = try HandDesignedOptimizer(rule: Momentum(), parameterCount: 3, learningRate: 0.1)
        var parameters: [Float] = [1, 2, 3]
        optimizer.step(parameters: &parameters, gradient: gradients[0])
        let snapshot = optimizer
        optimizer.step(parameters: &parameters, gradient: gradients[1])
        XCTAssertEqual(snapshot.state.step, 1)
        XCTAssertEqual(snapshot.state.firstMoment, gradients[0])
        XCTAssertEqual(optimizer.state.step, 2)
    }

    func testSlotsMatchEachRule() {
        let expected: [OptimizerKind: (first: Bool, second: Bool)] = [
            .sgd: (false, false), .momentum: (true, false), .nesterov: (true, false), .adam: (true, true),
            .adamw: (true, true), .lion: (true, false), .rmsprop: (false, true),
        ]
        for kind in OptimizerKind.allCases {
            let state = kind.makeRule().makeState(count: 5)
            XCTAssertEqual(state.step, 0)
            XCTAssertEqual(state.firstMoment.count, expected[kind]!.first ? 5 : 0, "\(kind)")
            XCTAssertEqual(state.secondMoment.count, expected[kind]!.second ? 5 : 0, "\(kind)")
            XCTAssertTrue((state.firstMoment + state.secondMoment).allSatisfy { $0 == 0 }, "\(kind)")
        }
    }

    /// The hot path must not reallocate the state's slots: their storage stays where it was allocated.
    func testStepsDoNotReallocateStateStorage() throws {
        var optimizer = try HandDesignedOptimizer(rule: Adam(), parameterCount: 3, learningRate: 0.1)
        func addresses(_ state: OptimizerState) -> [UnsafeRawPointer?] {
            [state.firstMoment.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) },
             state.secondMoment.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }]
        }
        let before = addresses(optimizer.state)
        var parameters: [Float] = [1, 2, 3]
        for gradient in gradients { optimizer.step(parameters: &parameters, gradient: gradient) }
        XCTAssertEqual(addresses(optimizer.state), before)
        XCTAssertEqual(optimizer.state.step, gradients.count)
    }

    /// On the first step m̂ = g and v̂ = g², so d = sign(g)·|g|/(|g| + ε): ≈ ±1 unless |g| is near ε.
    func testAdamFirstDirectionIsNearlyTheSign() {
        let gradient: [Float] = [3, -0.25, 1e-4, -7e-6, 1e-8, 0]
        var state = Adam().makeState(count: gradient.count)
        let direction = Adam().direction(gradient: gradient, state: &state)
        for (g, d) in zip(gradient, direction) {
            let magnitude = Double(abs(g))
            let expected = (g > 0 ? 1 : g < 0 ? -1 : 0) * magnitude / (magnitude + 1e-8)
            XCTAssertEqual(Double(d), expected, accuracy: 1e-5, "g = \(g)")
        }
        XCTAssertEqual(direction[0], 1, accuracy: 1e-6)
        XCTAssertEqual(direction[1], -1, accuracy: 1e-6)
        XCTAssertEqual(direction[4], 0.5, accuracy: 1e-3, "|g| = ε gives half a unit step")
    }

    func testFirstDirectionsOfTheOtherRules() {
        let gradient: [Float] = [2, -0.5, 0]
        func first(_ rule: any DirectionRule) -> [Float] {
            var state = rule.makeState(count: gradient.count)
            return rule.direction(gradient: gradient, state: &state)
        }
        XCTAssertEqual(first(SGD()), gradient)
        XCTAssertEqual(first(Momentum()), gradient, "m starts at 0, so m = g")
        XCTAssertEqual(first(Momentum(nesterov: true)), gradient.map { 1.9 * $0 }, "g + β·g")
        XCTAssertEqual(first(Lion()), [1, -1, 0], "sign((1 − β1)·g), sign(0) = 0")
        let rmsprop = first(RMSprop())
        XCTAssertEqual(rmsprop[0], 10, accuracy: 1e-4, "g / (0.1·|g|): no bias correction")
        XCTAssertEqual(rmsprop[1], -10, accuracy: 1e-4)
        XCTAssertEqual(rmsprop[2], 0)
        XCTAssertEqual(first(AdamW()), first(Adam()), "AdamW's direction is Adam's")
    }

    func testWeightDecayCouplingPerRule() {
        for kind in OptimizerKind.allCases {
            let expected: WeightDecayCoupling = (kind == .adamw || kind == .lion) ? .decoupled : .coupledL2
            XCTAssertEqual(kind.makeRule().weightDecayCoupling, expected, "\(kind)")
            XCTAssertEqual(kind.makeRule().name, kind.rawValue)
        }
    }
}
