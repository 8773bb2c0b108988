import XCTest
import Optimizers
import Seeding

/// Each rule's `backpropagate` against central differences of its own `advance`: for
/// J(s_k, g_k) = ⟨d̄, d_k⟩ + ⟨s̄_k+1, s_k+1⟩, the adjoint must give ⟨ḡ, u⟩ = ∂J/∂g·u and ⟨s̄_k, u⟩ = ∂J/∂s_k·u
/// along random directions u. This is what L3RS's second-order meta-gradient chains through.
final class DirectionRuleAdjointTests: XCTestCase {
    private let count = 16

    func testEveryRuleAdjointMatchesCentralDifferences() {
        for (index, kind) in OptimizerKind.allCases.enumerated() {
            var random = SplitMix64(seed: 17, stream: UInt64(index))
            check(kind.makeDifferentiableRule(), random: &random)
        }
    }

    private func check(_ rule: any DifferentiableDirectionRule, random: inout SplitMix64) {
        let before = randomState(rule, random: &random)
        let gradient = (0..<count).map { _ in random.nextFloat(in: -1.5, 1.5) }
        let directionAdjoint = (0..<count).map { _ in random.nextFloat(in: -1, 1) }
        var nextStateAdjoint = before
        nextStateAdjoint.firstMoment = nextStateAdjoint.firstMoment.map { _ in random.nextFloat(in: -1, 1) }
        nextStateAdjoint.secondMoment = nextStateAdjoint.secondMoment.map { _ in random.nextFloat(in: -1, 1) }

        func objective(_ state: OptimizerState, _ g: [Float]) -> Double {
            var after = state
            let d = rule.direction(gradient: g, state: &after)
            var sum = 0.0
            for i in 0..<count { sum += Double(directionAdjoint[i]) * Double(d[i]) }
            for (a, b) in zip(nextStateAdjoint.firstMoment, after.firstMoment) { sum += Double(a) * Double(b) }
            for (a, b) in zip(nextStateAdjoint.secondMoment, after.secondMoment) { sum += Double(a) * Double(b) }
            return sum
        }

        var after = before
        _ = rule.direction(gradient: gradient, state: &after)
        var stateAdjoint = nextStateAdjoint
        let offset: Float = 0.25
        var gradientAdjoint = [Float](repeating: offset, count: count)
        gradient.withUnsafeBufferPointer { g in
            directionAdjoint.withUnsafeBufferPointer { d̄ in
                gradientAdjoint.withUnsafeMutableBufferPointer { ḡ in
                    rule.backpropagate(gradient: g, stateAfter: after, directionAdjoint: d̄,
                                       stateAdjoint: &stateAdjoint, gradientAdjoint: ḡ)
                }
            }
        }
        let h: Float = 1e-3
        let u = (0..<count).map { _ in random.nextFloat(in: -1, 1) }
        func along(_ x: [Float], _ sign: Float) -> [Float] { zip(x, u).map { $0 + sign * h * $1 } }
        func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

        let gradientDifference = (objective(before, along(gradient, 1)) - objective(before, along(gradient, -1)))
            / Double(2 * h)
        // ḡ accumulates (+=) onto what was there.
        assertClose(dot(gradientAdjoint.map { $0 - offset }, u), gradientDifference, "\(rule.name): ḡ")
        for (slot, label) in [(\OptimizerState.firstMoment, "m̄"), (\OptimizerState.secondMoment, "v̄")]
        where !before[keyPath: slot].isEmpty {
            var plus = before, minus = before
            plus[keyPath: slot] = along(before[keyPath: slot], 1)
            minus[keyPath: slot] = along(before[keyPath: slot], -1)
            let difference = (objective(plus, gradient) - objective(minus, gradient)) / Double(2 * h)
            assertClose(dot(stateAdjoint[keyPath: slot], u), difference, "\(rule.name): \(label)")
        }
    }

    /// A state a few steps in (Adam's bias corrections are not 1), with positive second moments.
    private func randomState(_ rule: any DirectionRule, random: inout SplitMix64) -> OptimizerState {
        var state = rule.makeState(count: count)
        state.step = 3
        state.firstMoment = state.firstMoment.map { _ in random.nextFloat(in: -1, 1) }
        state.secondMoment = state.secondMoment.map { _ in random.nextFloat(in: 0.2, 1.5) }
        return state
    }

    private func assertClose(_ adjoint: Double, _ difference: Double, _ what: String) {
        XCTAssertEqual(adjoint, difference, accuracy: 2e-3 + 1e-2 * abs(difference), what)
    }
}
