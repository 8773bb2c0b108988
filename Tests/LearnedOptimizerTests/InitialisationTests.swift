import Optimizers
import XCTest
@testable import LearnedOptimizer

/// At initialisation L3RS is normalised Adam with learning rate λ0 (docs/method.md §4). The initial adam mixing
/// logit is 20 (`L3RSConfiguration.initialPreferredLogit`), so μ_adam rounds to exactly 1 in Float and the
/// other weights are ~2e-9; o_λ = 0 exactly, so λ = λ0.
final class InitialisationTests: XCTestCase {
    /// Per step, Δθ equals λ0 · d_adam / (rms_l(d_adam) + 1e-12) to 1e-6 (absolute, per element), with an
    /// independent Adam run on the same gradients; over six steps and λ0 ∈ {1e-3, 0.1, 1}.
    func testInitialUpdateEqualsNormalisedAdam() throws {
        let layers = TinyRegressionProblem.layers
        for variant in L3RSVariant.allCases {
            for λ0 in [Float(1e-3), 0.1, 1] {
                try StepsBesideBaseRules.run(L3RSConfiguration(baseLearningRate: λ0, variant: variant)) { step, update, directions, optimizer in
                    let direction = directions[2]
                    for layer in layers {
                        let rms = StepsBesideBaseRules.rms(direction, layer.range)
                        for i in layer.range {
                            let expected = λ0 * direction[i] / Float(rms + 1e-12)
                            XCTAssertEqual(update[i], expected, accuracy: 1e-6, "\(variant) λ0 \(λ0) step \(step) element \(i)")
                        }
                    }
                    XCTAssertEqual(optimizer.lastStepSizes, [Float](repeating: λ0, count: layers.count))
                    for l in 0..<layers.count {
                        XCTAssertEqual(optimizer.lastMixingWeights[l * 3 + 2], 1, "μ_adam")
                        XCTAssertLessThan(optimizer.lastMixingWeights[l * 3], 1e-8, "μ_sgd")
                        XCTAssertLessThan(optimizer.lastMixingWeights[l * 3 + 1], 1e-8, "μ_momentum")
                    }
                }
            }
        }
    }

    /// Under `directionScale: adam` the initial rule is Adam itself at learning rate λ0: Δθ = λ0·d_adam to
    /// 1e-6 per element against an independent Adam run, over six steps (where unit scale gives normalised
    /// Adam, the test above); a rule without adam or adamw is refused.
    func testInitialUpdateUnderAdamDirectionScaleEqualsAdam() throws {
        for λ0 in [Float(1e-3), 0.1] {
            var largestStep: Float = 0
            try StepsBesideBaseRules.run(L3RSConfiguration(baseLearningRate: λ0, directionScale: .adam)) { step, update, directions, _ in
                let direction = directions[2]
                for i in update.indices {
                    XCTAssertEqual(update[i], λ0 * direction[i], accuracy: 1e-6 * max(1, λ0 * abs(direction[i])),
                                   "λ0 \(λ0) step \(step) element \(i)")
                    largestStep = max(largestStep, abs(update[i]))
                }
            }
            XCTAssertGreaterThan(largestStep, λ0 / 2, "the check needs steps of Adam's size")
        }
        let withoutAdam = L3RSConfiguration(baseOptimizers: [.sgd, .momentum], directionScale: .adam)
        XCTAssertThrowsError(try L3RSOptimizer(configuration: withoutAdam, layers: TinyRegressionProblem.layers,
                                               parameterCount: TinyRegressionProblem.parameterCount)) { error in
            XCTAssertTrue("\(error)".contains("neither adam nor adamw"), "\(error)")
        }
    }

    /// With a base schedule as well, the initial rule is Adam under that schedule: Δθ = λ0·m(k; H)·d_adam, the
    /// multiplier the baselines' `OptimizerConfiguration` gives for the same warm-up and horizon (H = 10,
    /// warm-up 0.2·H = 2 steps), over the whole run and two steps past it (where the cosine rests at 0).
    func testInitialUpdateUnderABaseScheduleIsScheduledAdam() throws {
        let λ0: Float = 0.1, horizon = 10
        for kind in ScheduleKind.allCases {
            let configuration = L3RSConfiguration(baseLearningRate: λ0, directionScale: .adam, baseSchedule: kind,
                                                  baseWarmupFraction: 0.2)
            let baseline = try OptimizerConfiguration(
                optimizer: .adam, learningRate: Double(λ0), schedule: kind,
                warmupSteps: kind == .warmupCosine || kind == .linear ? 2 : 0,
                totalSteps: kind == .constant ? nil : horizon).makeSchedule()
            var moved = 0
            try StepsBesideBaseRules.run(configuration, steps: horizon + 2, horizon: horizon) { step, update, directions, optimizer in
                let m = baseline.multiplier(atStep: step)
                XCTAssertEqual(Double(configuration.stepSchedule.multiplier(step: step, horizon: horizon)), m, accuracy: 1e-12)
                for (l, λ) in optimizer.lastStepSizes.enumerated() {
                    XCTAssertEqual(Double(λ), Double(λ0) * m, accuracy: 1e-7 * Double(λ0), "\(kind) step \(step) layer \(l)")
                }
                for i in update.indices {
                    let expected = Float(Double(λ0) * m) * directions[2][i]
                    XCTAssertEqual(update[i], expected, accuracy: 1e-6 * max(1, abs(expected)), "\(kind) step \(step) element \(i)")
                }
                if m > 0 { moved += 1 }
            }
            XCTAssertEqual(moved, kind == .constant ? horizon + 2 : horizon, "\(kind): steps with a non-zero rate")
        }
    }

    /// A configuration round-trips with its direction scale and base schedule, and a file written before the
    /// keys existed reads as unit and constant.
    func testDirectionScaleAndBaseScheduleRoundTripAndDefault() throws {
        let adam = L3RSConfiguration(directionScale: .adam, baseSchedule: .warmupCosine, baseWarmupFraction: 0.1)
        XCTAssertTrue(try adam.encodedJSON().contains("\"directionScale\":\"adam\""))
        XCTAssertEqual(try L3RSConfiguration.decode(json: adam.encodedJSON()), adam)
        var old = try L3RSConfiguration().encodedJSON()
        for key in ["directionScale", "baseSchedule", "baseWarmupFraction"] {
            old = old.replacingOccurrences(of: #","\#(key)":("[a-z]+"|[0-9.]+)"#, with: "", options: .regularExpression)
            XCTAssertFalse(old.contains(key), old)
        }
        XCTAssertEqual(try L3RSConfiguration.decode(json: old), L3RSConfiguration())
    }

    /// With docs/method.md's example bias 3 the initial mix is only ≈ 0.9094 adam: the reason the default is 20.
    func testExampleBiasThreeGivesPartialAdam() throws {
        let configuration = L3RSConfiguration(initialPreferredLogit: 3)
        var optimizer = try L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        var state = optimizer.makeState()
        var θ = TinyRegressionProblem.initialParameters()
        let g = [Float](repeating: 0.1, count: θ.count)
        optimizer.step(parameters: &θ, gradient: g, loss: 1, state: &state)
        let expected = Float(exp(3.0) / (exp(3.0) + 2))
        XCTAssertEqual(optimizer.lastMixingWeights[2], expected, accuracy: 1e-6)
        XCTAssertEqual(Double(expected), 0.9094, accuracy: 1e-4)
    }

    /// The output layer starts at zero, the hidden layers do not, and initialisation is deterministic.
    func testInitialMetaParameters() {
        let configuration = L3RSConfiguration(seed: 42)
        let φ = MetaParameters(initialFor: configuration, layerCount: 5)
        let layout = φ.layout
        XCTAssertTrue(φ.values[layout.outputWeightOffset..<layout.outputBiasOffset].allSatisfy { $0 == 0 })
        XCTAssertEqual(Array(φ.values[layout.outputBiasOffset..<layout.embeddingOffset]), [0, 0, 0, 20])
        XCTAssertTrue(φ.values[layout.firstWeightOffset..<layout.firstBiasOffset].contains { $0 != 0 })
        let embedding = φ.values[layout.embeddingOffset..<layout.count]
        XCTAssertTrue(embedding.allSatisfy { abs($0) <= 0.01 } && embedding.contains { $0 != 0 })
        XCTAssertEqual(φ, MetaParameters(initialFor: configuration, layerCount: 5))
        XCTAssertNotEqual(φ, MetaParameters(initialFor: L3RSConfiguration(seed: 43), layerCount: 5))
    }
}
