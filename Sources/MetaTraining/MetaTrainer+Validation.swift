import LearnedOptimizer

extension MetaTrainer {
    /// Run indices of the held-out validation tasks: far above any training run's index, so their head seeds
    /// and data orders (derived from the index) never coincide with a training run's.
    static let validationTaskIndexBase = 1 << 20

    /// Scores `metaParameters` on the held-out tasks (see `MetaValidation`); changes nothing.
    public func validationScore(of metaParameters: MetaParameters) throws -> (meanLoss: Double, finalAccuracy: Double) {
        var lossSum = 0.0, accuracySum = 0.0
        for task in 0..<configuration.validationTasks {
            var run = freshRun(index: Self.validationTaskIndexBase + task, restarts: 0)
            run.state.horizon = configuration.validationSteps
            let score = try heldOutScore(of: metaParameters, from: run, steps: configuration.validationSteps,
                                         problem: try problem(for: run, reduction: .globalMean),
                                         weighting: configuration.metaLossWeighting)
            lossSum += score.meanLoss
            accuracySum += score.finalAccuracy
        }
        let tasks = Double(configuration.validationTasks)
        return (lossSum / tasks, accuracySum / tasks)
    }

    /// `metaParameters` unrolled `steps` steps from `run`'s state on `problem` (the run is not changed): the
    /// held-out loss (evaluation mode) averaged over the steps with `weighting`'s weights (uniform: the plain
    /// mean), infinite when the unroll diverges, and the held-out accuracy after the last step.
    func heldOutScore(of metaParameters: MetaParameters, from run: InnerRun, steps: Int,
                      problem: ModelInnerProblem,
                      weighting: MetaLossWeighting = .uniform) throws -> (meanLoss: Double, finalAccuracy: Double) {
        var unrolled = run
        return try heldOutScore(of: metaParameters, advancing: &unrolled.parameters, state: &unrolled.state,
                                steps: steps, problem: problem, weighting: weighting)
    }

    /// `heldOutScore`, advancing the given parameters and state (PES's particles carry on from where their
    /// last truncation left them). A diverged unroll stops at the step it diverged.
    func heldOutScore(of metaParameters: MetaParameters, advancing parameters: inout [Float], state: inout L3RSState,
                      steps: Int, problem: ModelInnerProblem,
                      weighting: MetaLossWeighting = .uniform) throws -> (meanLoss: Double, finalAccuracy: Double) {
        var unrolled = optimizer
        unrolled.metaParameters = metaParameters
        var gradient = [Float](repeating: 0, count: parameters.count)
        var total = 0.0, accuracy = 0.0
        // Uniform keeps its plain sum / steps (bit-identical to the estimators' scores before weightings existed).
        let weights = weighting == .uniform ? nil : weighting.weights(count: steps)
        for step in 0..<steps {
            try Self.innerStep(&parameters, state: &state, gradient: &gradient, problem: problem, optimizer: &unrolled)
            let held = parameters.withUnsafeBufferPointer { problem.validationLossAndAccuracy(parameters: $0, step: state.step) }
            if let failure = problem.failure { throw failure }
            guard held.loss.isFinite else { return (.infinity, 0) }
            total += (weights?[step] ?? 1) * Double(held.loss)
            accuracy = Double(held.accuracy)
        }
        return (weights == nil ? total / Double(steps) : total, accuracy)
    }

    /// Scores the current φ and keeps it as `best` when it beats every earlier one.
    public func validateAndKeepBest() throws -> MetaValidation {
        let score = try validationScore(of: optimizer.metaParameters)
        let isBest = score.meanLoss.isFinite && score.meanLoss < (best?.meanLoss ?? .infinity)
        if isBest {
            best = ValidatedMetaParameters(metaParameters: optimizer.metaParameters, meanLoss: score.meanLoss,
                                           metaStep: metaStep)
        }
        return MetaValidation(meanLoss: score.meanLoss, finalAccuracy: score.finalAccuracy, isBest: isBest)
    }

    /// The learned optimizer a run ships: the best validated φ when meta-validation ran, else the last.
    public var resultMetaParameters: MetaParameters { best?.metaParameters ?? optimizer.metaParameters }
}
