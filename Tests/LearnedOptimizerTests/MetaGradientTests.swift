import Optimizers
import XCTest
@testable import LearnedOptimizer

/// The meta-gradient against central finite differences of L_meta on the tiny regression problem.
///
/// Tolerance: |analytic − FD| ≤ 1e-3·|FD| + 1e-4·max|FD| over the checked coordinates. FD step h = 1e-2 on
/// φ; the unroll runs in Float, so the FD quotient carries ~1e-6 rounding noise and O(h²) truncation error;
/// coordinates whose gradient is tiny are covered by the absolute part.
final class MetaGradientTests: XCTestCase {
    let problem = TinyRegressionProblem()
    let truncation = 4

    private func check(
        order: MetaGradientOrder, variant: L3RSVariant, warmUp: Int,
        bases: [OptimizerKind] = [.sgd, .momentum, .adam], learnedOutputs: L3RSLearnedOutputs = .stepSizeAndMixing, baseLearningRate: Float = 0.1,
        finiteDifferenceStep: Float = 4e-2, horizonFeatures: Bool = false, featureSet: L3RSFeatureSet = .v1,
        directionScale: L3RSDirectionScale = .unit, baseSchedule: ScheduleKind = .constant
    ) {
        let optimizer = MetaGradientFixtures.optimizer(variant: variant, bases: bases, baseLearningRate: baseLearningRate,
                                                       learnedOutputs: learnedOutputs, horizonFeatures: horizonFeatures,
                                                       featureSet: featureSet, directionScale: directionScale,
                                                       baseSchedule: baseSchedule)
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: warmUp)
        var analyticOptimizer = optimizer
        var θ = θ0
        var state = state0
        let result = analyticOptimizer.metaGradient(problem: problem, parameters: &θ, state: &state,
                                                    truncationLength: truncation, order: order)
        XCTAssertTrue(result.isFinite)
        XCTAssertEqual(state.step, state0.step + truncation)

        // First order is the exact gradient of the unroll with the training losses and gradients (hence base
        // states) replayed as constants.
        let reference: any InnerProblem = order == .secondOrder
            ? problem
            : ReplayedProblem(base: problem, optimizer: optimizer, parameters: θ0, state: state0, steps: truncation)
        let indices = MetaGradientFixtures.checkedCoordinates(optimizer.metaParameters.layout)
        var differences: [Double] = []
        for index in indices {
            differences.append(finiteDifference(reference, optimizer, θ0, state0, index, step: finiteDifferenceStep))
        }
        let scale = differences.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 1e-4, "the check needs a meta-gradient that is not ~0")
        var worst = 0.0
        for (index, fd) in zip(indices, differences) {
            let analytic = Double(result.gradient[index])
            let error = abs(analytic - fd)
            worst = max(worst, error / (1e-3 * abs(fd) + 1e-4 * scale))
            XCTAssertLessThanOrEqual(error, 1e-3 * abs(fd) + 1e-4 * scale,
                                     "\(order) φ[\(index)]: analytic \(analytic), finite difference \(fd)")
        }
        print("meta-gradient check \(order) \(variant) \(featureSet) \(directionScale) \(baseSchedule) \(bases.map(\.rawValue)) warm-up \(warmUp): \(indices.count) coordinates, "
              + "max |FD| \(scale), worst error / tolerance \(worst)")
    }

    private func finiteDifference(
        _ reference: any InnerProblem, _ optimizer: L3RSOptimizer, _ θ: [Float], _ state: L3RSState, _ index: Int,
        step: Float
    ) -> Double {
        func run<P: InnerProblem>(_ problem: P) -> Double {
            MetaGradientFixtures.finiteDifference(optimizer: optimizer, problem: problem, parameters: θ,
                                                  state: state, steps: truncation, index: index, step: step)
        }
        return run(reference)
    }

    func testSecondOrderMatchesFiniteDifferencesFromStepZero() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 0)
    }

    func testSecondOrderMatchesFiniteDifferencesMidRun() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 3)
    }

    func testSecondOrderMatchesFiniteDifferencesWithoutEmbedding() {
        check(order: .secondOrder, variant: .kindAndDepth, warmUp: 2)
    }

    /// The horizon features (progress k/H and 0.1·log H) are constants of θ; φ's first layer reads them.
    /// Second order needs the smaller FD step: its largest coordinate (0.71) carries an O(h²) error of 1e-3 at
    /// h = 4e-2, and agrees to 1e-7 at h = 1e-2.
    func testBothOrdersMatchFiniteDifferencesWithHorizonFeatures() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 3, finiteDifferenceStep: 1e-2, horizonFeatures: true)
        check(order: .firstOrder, variant: .kindAndDepth, warmUp: 3, horizonFeatures: true)
    }

    /// Feature set v2 (bias-corrected EMAs, standardised statistics, direction RMS, gradient–direction cosines,
    /// loss progress), from step 0 and mid-run, in both orders and both identity variants. First order
    /// differentiates the EMAs (bias correction, loss progress) and the standardised rms(θ_l); second order also
    /// the direction RMS and cosines through the base rules, and the standardised rms(g_l), into ḡ.
    func testBothOrdersMatchFiniteDifferencesWithFeatureSetV2() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 0, finiteDifferenceStep: 1e-2, featureSet: .v2)
        check(order: .secondOrder, variant: .kindAndDepth, warmUp: 3, finiteDifferenceStep: 1e-2, featureSet: .v2)
        check(order: .firstOrder, variant: .layerEmbedding, warmUp: 3, featureSet: .v2)
        check(order: .firstOrder, variant: .kindAndDepth, warmUp: 0, featureSet: .v2)
    }

    /// v2 with other base rules (Nesterov rebuilt, RMSprop and AdamW stored) in second order: their direction
    /// adjoints carry the direction-RMS and cosine terms.
    /// Directions scaled to Adam's RMS: in second order every base's d̂ also depends on Adam's direction
    /// through R = rms(d_adam), which the adjoint must carry into Adam's base state and the gradient.
    func testBothOrdersMatchFiniteDifferencesWithAdamDirectionScale() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 0, finiteDifferenceStep: 1e-2, directionScale: .adam)
        check(order: .secondOrder, variant: .kindAndDepth, warmUp: 3, finiteDifferenceStep: 1e-2, featureSet: .v2,
              directionScale: .adam)
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 2, bases: [.nesterov, .adamw, .rmsprop],
              finiteDifferenceStep: 1e-2, directionScale: .adam)
        check(order: .firstOrder, variant: .layerEmbedding, warmUp: 3, directionScale: .adam)
        check(order: .firstOrder, variant: .kindAndDepth, warmUp: 0, featureSet: .v2, directionScale: .adam)
    }

    /// A base schedule scales λ by m(k; H) (here warm-up 3 of H = 12, then cosine): a constant of φ, so the
    /// adjoint of o_λ is λ̄·λ with the scheduled λ; checked in both orders, in the warm-up and after it.
    func testBothOrdersMatchFiniteDifferencesWithABaseSchedule() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 0, finiteDifferenceStep: 1e-2, directionScale: .adam,
              baseSchedule: .warmupCosine)
        check(order: .firstOrder, variant: .kindAndDepth, warmUp: 5, directionScale: .adam, baseSchedule: .warmupCosine)
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 4, finiteDifferenceStep: 1e-2, baseSchedule: .linear)
    }

    func testSecondOrderWithFeatureSetV2ThroughOtherBaseRules() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 2, bases: [.nesterov, .rmsprop, .adamw],
              finiteDifferenceStep: 1e-2, featureSet: .v2)
    }

    func testFirstOrderMatchesFiniteDifferencesOfReplayedUnroll() {
        check(order: .firstOrder, variant: .layerEmbedding, warmUp: 3)
    }

    func testFirstOrderMatchesFiniteDifferencesFromStepZero() {
        check(order: .firstOrder, variant: .kindAndDepth, warmUp: 0)
    }

    /// Lion's direction sign(·) jumps where its argument crosses 0, and second order differentiates through
    /// the gradient Lion reads: a stencil reaching ±8e-2 in φ crosses such jumps, so this check uses the
    /// narrower step (±2e-2).
    func testSecondOrderThroughOtherBaseRules() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 2, bases: [.nesterov, .rmsprop, .lion, .adamw],
              finiteDifferenceStep: 1e-2)
    }

    func testFirstOrderThroughOtherBaseRules() {
        check(order: .firstOrder, variant: .kindAndDepth, warmUp: 2, bases: [.nesterov, .rmsprop, .lion, .adamw])
    }

    /// The ablations: with μ fixed uniform, or λ fixed at λ0, the meta-gradient is still exact (the fixed
    /// output's path to φ is cut in both the update and its adjoint).
    func testSecondOrderMatchesFiniteDifferencesWithStepSizeOnly() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 2, learnedOutputs: .stepSizeOnly)
    }

    /// With λ fixed the meta-gradient is ~40× smaller at λ0 = 0.1, down at the Float finite-difference noise;
    /// λ0 = 0.3 lifts it clear of the noise without changing the tolerance.
    func testSecondOrderMatchesFiniteDifferencesWithMixingOnly() {
        check(order: .secondOrder, variant: .layerEmbedding, warmUp: 2, learnedOutputs: .mixingOnly, baseLearningRate: 0.3)
    }

    /// The fixed outputs really are fixed: μ uniform for stepSizeOnly, λ = λ0 for mixingOnly, whatever φ says.
    func testAblationsFixTheirOutput() {
        for learned in [L3RSLearnedOutputs.stepSizeOnly, .mixingOnly] {
            var optimizer = MetaGradientFixtures.optimizer(learnedOutputs: learned)
            let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
            var θ = θ0, state = state0
            var gradient = [Float](repeating: 0, count: θ.count)
            let loss = θ.withUnsafeBufferPointer { parameters in
                gradient.withUnsafeMutableBufferPointer {
                    problem.trainingLossAndGradient(parameters: parameters, step: state.step, gradient: $0)
                }
            }
            optimizer.step(parameters: &θ, gradient: gradient, loss: loss, state: &state)
            if learned == .stepSizeOnly {
                for μ in optimizer.lastMixingWeights { XCTAssertEqual(μ, 1 / 3, accuracy: 1e-7) }
                XCTAssertGreaterThan(Set(optimizer.lastStepSizes).count, 1, "λ still varies by layer")
            } else {
                for λ in optimizer.lastStepSizes { XCTAssertEqual(λ, optimizer.configuration.baseLearningRate) }
            }
        }
    }

    /// The second-order terms are not negligible on this problem, so the second-order check above could not
    /// pass with a first-order gradient.
    func testFirstAndSecondOrderDifferHere() {
        let optimizer = MetaGradientFixtures.optimizer()
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
        var gradients: [[Float]] = []
        for order in MetaGradientOrder.allCases {
            var copy = optimizer
            var θ = θ0
            var state = state0
            gradients.append(copy.metaGradient(problem: problem, parameters: &θ, state: &state,
                                               truncationLength: truncation, order: order).gradient)
        }
        let scale = gradients[1].map { abs(Double($0)) }.max()!
        let difference = zip(gradients[0], gradients[1]).map { abs(Double($0) - Double($1)) }.max()!
        XCTAssertGreaterThan(difference, 1e-2 * scale)
    }
}
