import XCTest
@testable import LearnedOptimizer

final class MetaOptimizerTests: XCTestCase {
    /// Ten meta-steps (Adam, lr 1e-3, clip 1) from the initial φ on one fixed truncation of the tiny problem
    /// lower its L_meta (deterministic: same start state, same batches).
    func testMetaStepsLowerMetaLoss() {
        let problem = TinyRegressionProblem()
        let configuration = L3RSConfiguration(baseLearningRate: 0.05, seed: 1)
        var optimizer = try! L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                           parameterCount: TinyRegressionProblem.parameterCount)
        let (θ0, state0) = MetaGradientFixtures.start(optimizer: optimizer, problem: problem, warmUp: 2)
        let truncation = 5
        let initialLoss = MetaGradientFixtures.metaLoss(optimizer: optimizer, problem: problem, parameters: θ0,
                                                        state: state0, steps: truncation)
        var metaOptimizer = MetaOptimizer(parameterCount: optimizer.metaParameters.values.count)
        for _ in 0..<10 {
            var θ = θ0
            var state = state0
            let result = optimizer.metaGradient(problem: problem, parameters: &θ, state: &state,
                                                truncationLength: truncation, order: .firstOrder)
            XCTAssertEqual(result.metaLoss, MetaGradientFixtures.metaLoss(
                optimizer: optimizer, problem: problem, parameters: θ0, state: state0, steps: truncation),
                accuracy: 1e-12)
            guard case .applied = metaOptimizer.update(&optimizer.metaParameters, gradient: result.gradient) else {
                return XCTFail("meta-step skipped")
            }
        }
        let trainedLoss = MetaGradientFixtures.metaLoss(optimizer: optimizer, problem: problem, parameters: θ0,
                                                        state: state0, steps: truncation)
        print("L_meta initial \(initialLoss), after 10 meta-steps \(trainedLoss)")
        XCTAssertLessThan(trainedLoss, initialLoss)
        XCTAssertEqual(metaOptimizer.step, 10)
    }

    func testNonFiniteGradientSkipsTheStep() {
        let configuration = L3RSConfiguration()
        var φ = MetaParameters(initialFor: configuration, layerCount: 2)
        let original = φ
        var metaOptimizer = MetaOptimizer(parameterCount: φ.values.count)
        var gradient = [Float](repeating: 0.1, count: φ.values.count)
        gradient[17] = .nan
        XCTAssertFalse(MetaGradientCheck.isFinite(gradient))
        XCTAssertEqual(metaOptimizer.update(&φ, gradient: gradient), .skippedNonFinite)
        gradient[17] = .infinity
        XCTAssertEqual(metaOptimizer.update(&φ, gradient: gradient), .skippedNonFinite)
        XCTAssertEqual(φ, original)
        XCTAssertEqual(metaOptimizer.step, 0)
        XCTAssertEqual(metaOptimizer.skippedSteps, 2)
        XCTAssertTrue(metaOptimizer.firstMoment.allSatisfy { $0 == 0 })
    }

    /// A finite meta-gradient whose squares overflow Float (second-order meta-gradients over whole runs reach
    /// 1e20 and more) is clipped to the maximum norm and applied: its norm was once infinite, which scaled the
    /// gradient to zero while the step counter still advanced.
    func testHugeFiniteGradientIsClippedNotZeroed() {
        let configuration = L3RSConfiguration()
        var φ = MetaParameters(initialFor: configuration, layerCount: 2)
        let before = φ.values
        var metaOptimizer = MetaOptimizer(parameterCount: φ.values.count)
        let gradient = (0..<φ.values.count).map { Float($0 % 2 == 0 ? 3e30 : -2e30) }
        XCTAssertTrue(MetaGradientCheck.isFinite(gradient))
        guard case .applied(let norm, let scale) = metaOptimizer.update(&φ, gradient: gradient) else {
            return XCTFail("a finite meta-gradient was skipped")
        }
        XCTAssertTrue(norm.isFinite, "norm \(norm)")
        XCTAssertGreaterThan(norm, 1e30)
        XCTAssertGreaterThan(scale, 0)
        XCTAssertEqual(norm * scale, 1, accuracy: 1e-9)
        for i in before.indices {
            XCTAssertEqual(Double(before[i] - φ.values[i]), Double(i % 2 == 0 ? 1e-3 : -1e-3), accuracy: 2e-5, "φ[\(i)]")
        }
    }

    /// A gradient of norm 10 is scaled by 0.1; Adam's first step then moves every coordinate by lr·sign(g).
    func testGlobalNormClipping() {
        var φ = MetaParameters(initialFor: L3RSConfiguration(), layerCount: 1)
        let before = φ.values
        let count = φ.values.count
        let gradient = (0..<count).map { i in Float(i % 2 == 0 ? 1 : -1) * Float(10 / Double(count).squareRoot()) }
        var metaOptimizer = MetaOptimizer(parameterCount: count)
        guard case .applied(let norm, let scale) = metaOptimizer.update(&φ, gradient: gradient) else {
            return XCTFail("step skipped")
        }
        XCTAssertEqual(norm, 10, accuracy: 1e-4)
        XCTAssertEqual(scale, 0.1, accuracy: 1e-6)
        for i in 0..<count {
            XCTAssertEqual(before[i] - φ.values[i], 1e-3 * (i % 2 == 0 ? 1 : -1), accuracy: 1e-6)
        }
    }

    /// Two steps against Adam written out in Double (Kingma & Ba, Algorithm 1) on a clipped gradient: the
    /// meta-optimizer is Adam with exact-form global-norm clipping.
    func testMatchesReferenceAdamWithClipping() {
        var φ = MetaParameters(initialFor: L3RSConfiguration(), layerCount: 1)
        let count = φ.values.count
        var reference = φ.values.map(Double.init)
        var (m, v) = ([Double](repeating: 0, count: count), [Double](repeating: 0, count: count))
        var metaOptimizer = MetaOptimizer(parameterCount: count, learningRate: 1e-2, maxGradientNorm: 0.5)
        for step in 1...2 {
            let gradient = (0..<count).map { i in Float(((i * 7 + step * 3) % 11) - 5) / 40 }
            let norm = gradient.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let scale = norm > 0.5 ? 0.5 / norm : 1
            guard case .applied(_, let clipScale) = metaOptimizer.update(&φ, gradient: gradient) else {
                return XCTFail("step skipped")
            }
            XCTAssertEqual(clipScale, scale, accuracy: 1e-6)
            for i in 0..<count {
                let g = Double(gradient[i]) * scale
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                let (mHat, vHat) = (m[i] / (1 - pow(0.9, Double(step))), v[i] / (1 - pow(0.999, Double(step))))
                let corrected = mHat / (vHat.squareRoot() + 1e-8)
                reference[i] -= 1e-2 * corrected
            }
        }
        for i in 0..<count { XCTAssertEqual(Double(φ.values[i]), reference[i], accuracy: 1e-6, "φ[\(i)]") }
        XCTAssertEqual(metaOptimizer.step, 2)
    }
}
