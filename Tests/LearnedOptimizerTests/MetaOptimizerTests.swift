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
}
