import Optimizers
@testable import LearnedOptimizer

/// Runs L3RS steps on the tiny regression problem beside independent runs of each of its base rules on the
/// same gradients, so a test can state the update it expects from the base directions.
enum StepsBesideBaseRules {
    /// `steps` L3RS steps of `configuration` in a run of `horizon` steps (`L3RSState.horizon`); after each,
    /// `check(step, Δθ, directions, optimizer)` with the base rules' raw directions in configuration order.
    static func run(
        _ configuration: L3RSConfiguration, steps: Int = 6, horizon: Int = 0,
        check: (_ step: Int, _ update: [Float], _ directions: [[Float]], _ optimizer: L3RSOptimizer) -> Void
    ) throws {
        let problem = TinyRegressionProblem()
        var optimizer = try L3RSOptimizer(configuration: configuration, layers: TinyRegressionProblem.layers,
                                          parameterCount: TinyRegressionProblem.parameterCount)
        var state = optimizer.makeState()
        state.horizon = horizon
        let rules = configuration.baseOptimizers.map { $0.makeRule() }
        var ruleStates = rules.map { $0.makeState(count: TinyRegressionProblem.parameterCount) }
        var θ = TinyRegressionProblem.initialParameters()
        var g = [Float](repeating: 0, count: θ.count)
        for step in 0..<steps {
            let loss = θ.withUnsafeBufferPointer { p in
                g.withUnsafeMutableBufferPointer { problem.trainingLossAndGradient(parameters: p, step: step, gradient: $0) }
            }
            let before = θ
            optimizer.step(parameters: &θ, gradient: g, loss: loss, state: &state)
            let directions = rules.indices.map { rules[$0].direction(gradient: g, state: &ruleStates[$0]) }
            check(step, zip(before, θ).map { $0 - $1 }, directions, optimizer)
        }
    }

    /// rms of `direction` over `range`, in Double.
    static func rms(_ direction: [Float], _ range: Range<Int>) -> Double {
        (direction[range].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(range.count)).squareRoot()
    }
}
