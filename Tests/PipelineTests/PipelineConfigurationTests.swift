import Foundation
import LearnedOptimizer
import TestSupport
import Training
import XCTest
@testable import Pipeline

/// The pipeline's configuration: the embedded default is the file in jobs/configs/, keys are strict, and the
/// plan derived from the default follows the protocol (docs/method.md §6).
final class PipelineConfigurationTests: XCTestCase {
    func testEmbeddedDefaultIsTheFileInJobsConfigs() throws {
        let file = MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/pipeline-default.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(text.trimmingCharacters(in: .whitespacesAndNewlines),
                       DefaultPipelineConfiguration.yaml.trimmingCharacters(in: .whitespacesAndNewlines),
                       "jobs/configs/pipeline-default.yaml and DefaultPipelineConfiguration.yaml must be the same text")
        XCTAssertEqual(try PipelineConfiguration.load(file: file.path), try DefaultPipelineConfiguration.load())
    }

    func testLargeAndWholeHorizonConfigurationsLoadAndValidate() throws {
        for name in ["pipeline-large", "pipeline-whole", "pipeline-whole-horizon", "pipeline-resnet18",
                     "pipeline-resnet18-adamscale"] {
            let file = MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/\(name).yaml")
            let configuration = try PipelineConfiguration.load(file: file.path)
            try configuration.validate()
            for (label, stage) in PipelinePlan(configuration).metaTrainingStages {
                guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(name): \(label) is not meta-training") }
                try m.validate()
            }
        }
    }

    /// pipeline-resnet18.yaml is the default's protocol on the shipped ResNet-18 (its comment's stage counts).
    func testResNet18PipelineRunsTheDefaultProtocolOnTheShippedBackbone() throws {
        let file = MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/pipeline-resnet18.yaml")
        let configuration = try PipelineConfiguration.load(file: file.path)
        XCTAssertEqual(configuration.model, "resnet18@32")
        XCTAssertTrue(configuration.weightsPath.hasSuffix("data/resnet18-fmnist/resnet18-fmnist.safetensors"), configuration.weightsPath)
        let plan = PipelinePlan(configuration)
        XCTAssertEqual(plan.baselines.count, 4)
        XCTAssertEqual(plan.tuningStages.count, 12)
        XCTAssertEqual(plan.metaTrainingStages.count, 1)
        XCTAssertEqual(plan.conditions.map(\.steps), [100, 100, 200, 100])
        guard case let .training(pretrain) = plan.pretrainStage.kind else { return XCTFail("pretrain is a training stage") }
        XCTAssertEqual(pretrain.model, "resnet18@32")
        try pretrain.validate()
    }

    func testUnknownKeysAreErrorsListingTheValidOnes() {
        XCTAssertThrowsError(try PipelineConfiguration.load(yaml: "horizon: 10\nhorizn: 20\n", source: "x.yaml")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("horizn"), text)
            XCTAssertTrue(text.contains("learningRateGrids"), text)
        }
    }

    func testValidationFindsEveryProblem() {
        var c = PipelineConfiguration()
        c.evalEvery = 7
        c.ablations = ["nonsense"]
        c.learningRateGrids = [.adam: [1e-3]]
        c.seeds = 0
        c.oracleConfigurations = -1
        c.longHorizons = [2, 2]
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("evalEvery"), text)
            XCTAssertTrue(text.contains("nonsense"), text)
            XCTAssertTrue(text.contains("momentum"), text)
            XCTAssertTrue(text.contains("seeds must be at least 1"), text)
            XCTAssertTrue(text.contains("oracleConfigurations"), text)
            XCTAssertTrue(text.contains("longHorizons must not repeat"), text)
        }
    }

    /// A tuning of every baseline at `steps` that ranks them in configuration order.
    func tuning(_ plan: PipelinePlan, steps: Int) -> PipelineTuning {
        PipelineTuning(grid: [:], learningRates: Dictionary(uniqueKeysWithValues: plan.baselines.map { ($0, 1e-3) }),
                       best: plan.baselines[0], ranking: plan.baselines, steps: steps)
    }

    /// The large plan is the full protocol: Adam, AdamW and SGD with momentum × constant, cosine and warm-up +
    /// cosine × head multiplier ×1 and ×10, 7-point grids, the five conditions, L3RS and three ablations, 100
    /// oracle configurations, 5 seeds; tuning never reads the test split and runs as long as the horizon.
    func testLargePlanIsTheFullProtocol() throws {
        let file = MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/pipeline-large.yaml")
        let configuration = try PipelineConfiguration.load(file: file.path)
        let plan = PipelinePlan(configuration)
        XCTAssertEqual(plan.baselines.count, 18)
        XCTAssertTrue(plan.baselines.map(\.label).contains("adamw-warmup-cosine-head10"))
        for grid in configuration.learningRateGrids.entries.values { XCTAssertGreaterThanOrEqual(grid.count, 7) }
        XCTAssertEqual(plan.conditions.map(\.name), ["seen", "unseen", "horizon-2x", "horizon-4x", "another-init"])
        XCTAssertEqual(plan.metaTrainingStages.map(\.label), ["l3rs", "l3rs-lambda-only", "l3rs-mu-only", "l3rs-embedding-free"])
        XCTAssertGreaterThanOrEqual(configuration.oracleConfigurations, 100)
        XCTAssertGreaterThanOrEqual(configuration.seeds, 5)
        for (_, _, stage) in plan.tuningStages {
            guard case let .training(t) = stage.kind else { return XCTFail("tuning stage \(stage.id) is not a fine-tune") }
            XCTAssertEqual(t.evaluationSplit, .validation, stage.id)
            XCTAssertEqual(t.validationFraction, configuration.validationFraction)
            XCTAssertEqual(t.steps, configuration.horizon, "tuned at the horizon it is compared at")
        }
    }

    /// Stage counts of the default and large plans, from seeds, baselines, grids, horizons and the oracle
    /// (the README's time estimate is built on these numbers).
    func testStageCountsFollowSeedsBaselinesAndTheOracle() throws {
        let defaults = try DefaultPipelineConfiguration.load()
        try defaults.validate()
        let plan = PipelinePlan(defaults)
        let atHorizon = tuning(plan, steps: defaults.horizon)
        XCTAssertEqual(plan.tuningStages.count, 4 * 3, "2 optimizers × 2 schedules × 3 learning rates")
        XCTAssertEqual(plan.tuningStages(steps: 200, baselines: plan.evaluatedBaselines(atHorizon)).count, 3, "the best baseline again at 2H")
        XCTAssertEqual(plan.oracleStages(atHorizon).count, 10)
        let tunings = Dictionary(uniqueKeysWithValues: plan.horizons.map { ($0, tuning(plan, steps: $0)) })
        let oracle = plan.oracleStages(atHorizon)[3].schedule
        let runs = plan.evaluationStages(tuning: tunings, oracle: oracle)
        // seen: l3rs, best baseline, oracle; unseen, horizon-2x, another-init: l3rs, best baseline; 5 seeds each.
        XCTAssertEqual(runs.count, (3 + 2 + 2 + 2) * 5)
        XCTAssertEqual(Set(runs.filter { $0.condition.name == "seen" }.map(\.arm)), ["l3rs", "adam-constant", "oracle"])
        XCTAssertEqual(Set(runs.map(\.stage.id)).count, runs.count, "every run has its own folder")
        for run in runs {
            guard case let .training(t) = run.stage.kind else { return XCTFail("not a fine-tune") }
            XCTAssertEqual(t.evaluationSplit, .test)
            XCTAssertEqual(t.steps, run.condition.steps)
            XCTAssertEqual(t.seed, defaults.seed + UInt64(run.seed), "seed k changes head and data order")
            XCTAssertEqual(t.validationSeed, defaults.seed, "the held-out split never moves")
            XCTAssertEqual(t.curveEvaluationLimit, defaults.curveImages)
            XCTAssertEqual(t.evalEvery, defaults.evalEvery)
            if run.kind == .oracle {
                XCTAssertEqual(t.groupMultipliers, oracle.multipliers)
                XCTAssertEqual(t.groupSchedules, oracle.shapes)
                XCTAssertEqual(t.learningRate, oracle.learningRate)
            }
            try t.validate()
        }

        let large = PipelinePlan(try PipelineConfiguration.load(file: MPIRun.repositoryRoot.appendingPathComponent("jobs/configs/pipeline-large.yaml").path))
        let largeTuning = Dictionary(uniqueKeysWithValues: large.horizons.map { ($0, tuning(large, steps: $0)) })
        XCTAssertEqual(large.tuningStages.count, 18 * 7)
        XCTAssertEqual(large.horizons.dropFirst().reduce(0) { $0 + large.tuningStages(steps: $1, baselines: large.evaluatedBaselines(largeTuning[200]!)).count }, 2 * 3 * 7)
        // seen: l3rs + 3 ablations + 3 baselines + oracle; unseen, another-init: 4 learned + 3 baselines; long: l3rs + 3.
        XCTAssertEqual(large.evaluationStages(tuning: largeTuning, oracle: oracle).count, (8 + 7 + 4 + 4 + 7) * 5)
    }

    /// The oracle's search: seeded (the same list every time), configuration 0 is the best baseline itself,
    /// the rest stay in their documented ranges and differ.
    func testOracleSearchIsSeededStartsAtTheBaselineAndStaysInRange() throws {
        let baseline = PipelineBaseline(optimizer: .adam, schedule: .warmupCosine, headMultiplier: 10)
        let list = ScheduleOracle.schedules(count: 100, seed: 4, horizon: 100, baseline: baseline, learningRate: 0.01, warmupSteps: 10)
        XCTAssertEqual(list.count, 100)
        XCTAssertEqual(list, ScheduleOracle.schedules(count: 100, seed: 4, horizon: 100, baseline: baseline, learningRate: 0.01, warmupSteps: 10))
        XCTAssertNotEqual(list, ScheduleOracle.schedules(count: 100, seed: 5, horizon: 100, baseline: baseline, learningRate: 0.01, warmupSteps: 10))
        XCTAssertEqual(list[0], OracleSchedule(learningRate: 0.01, warmupSteps: 10,
                                               multipliers: ["first-conv": 1, "conv": 1, "hidden": 1, "head": 10],
                                               shapes: ["first-conv": "cosine", "conv": "cosine", "hidden": "cosine", "head": "cosine"]))
        for schedule in list.dropFirst() {
            XCTAssertTrue(schedule.learningRate >= 0.01 / 3.3 && schedule.learningRate <= 0.01 * 3.3, "\(schedule.learningRate)")
            XCTAssertTrue([0, 5, 10, 20].contains(schedule.warmupSteps))
            XCTAssertEqual(Set(schedule.multipliers.keys), Set(LayerGroups.names))
            XCTAssertTrue(schedule.multipliers.values.allSatisfy { $0 >= 0.1 && $0 <= 10 })
        }
        XCTAssertEqual(Set(list.flatMap { $0.shapes.values }), ["constant", "cosine", "linear"])
        XCTAssertGreaterThan(Set(list.map(\.warmupSteps)).count, 2)
        XCTAssertTrue(ScheduleOracle.schedules(count: 0, seed: 4, horizon: 100, baseline: baseline, learningRate: 0.01, warmupSteps: 10).isEmpty)
    }

    /// The meta-objective settings reach every meta-training stage; invalid ones are rejected up front.
    func testMetaTrainingSettingsReachEveryStage() throws {
        var c = try PipelineConfiguration.load(yaml: "initialPreferredLogit: 3\nstepSizePenalty: 0.25\nbaseLearningRate: 0.002\n", source: "x.yaml")
        for (label, stage) in PipelinePlan(c).metaTrainingStages {
            guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(label) is not a meta-training stage") }
            XCTAssertEqual(m.initialPreferredLogit, 3, label)
            XCTAssertEqual(m.stepSizePenalty, 0.25, label)
            XCTAssertEqual(m.baseLearningRate, 0.002, label)
        }
        c.stepSizePenalty = -1
        c.baseLearningRate = 0
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("stepSizePenalty"), text)
            XCTAssertTrue(text.contains("baseLearningRate"), text)
        }
    }

    /// The meta-batch, horizon range, estimator and validation keys reach every meta-training stage, and a
    /// bad combination is refused before anything runs, naming the meta-training key.
    func testMetaBatchHorizonsEstimatorAndValidationReachEveryStage() throws {
        var c = try PipelineConfiguration.load(yaml: """
            truncation: 150
            innerRuns: 4
            tasksPerMetaStep: 2
            minHorizon: 50
            maxHorizon: 150
            metaEstimator: antitheticES
            stepSizePenalty: 0
            validateEvery: 5
            validationTasks: 3
            horizonFeatures: true
            featureSet: v2
            embeddingInitialScale: 1
            """, source: "x.yaml")
        try c.validate()
        for (label, stage) in PipelinePlan(c).metaTrainingStages {
            guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(label) is not a meta-training stage") }
            XCTAssertEqual(m.tasksPerMetaStep, 2, label)
            XCTAssertEqual(m.horizonRange, 50...150, label)
            XCTAssertEqual(m.estimator, .antitheticES, label)
            XCTAssertEqual(m.validateEvery, 5, label)
            XCTAssertEqual(m.validationTasks, 3, label)
            XCTAssertEqual(m.validationSteps, c.horizon, label)
            XCTAssertTrue(m.l3rsConfiguration.horizonFeatures, label)
            XCTAssertEqual(m.l3rsConfiguration.featureSet, .v2, label)
            XCTAssertEqual(m.l3rsConfiguration.embeddingInitialScale, 1, label)
        }
        c.tasksPerMetaStep = 5
        XCTAssertThrowsError(try c.validate()) { error in
            XCTAssertTrue(String(describing: error).contains("tasksPerMetaStep"), String(describing: error))
        }
    }

    /// `directionScale`, `baseSchedule` (with the baselines' `warmupFraction`), `metaGradientOrder` and
    /// `metaLossWeighting` reach every meta-training stage (its L3RS configuration, its `order` and weighting); a
    /// misspelt value is refused naming the key and the allowed values.
    func testDirectionScaleBaseScheduleMetaGradientOrderAndLossWeightingReachEveryStage() throws {
        let c = try PipelineConfiguration.load(yaml: """
            truncation: 100
            metaGradientOrder: secondOrder
            metaLossWeighting: linear
            directionScale: adam
            baseSchedule: warmup-cosine
            warmupFraction: 0.2
            """, source: "x.yaml")
        try c.validate()
        XCTAssertFalse(PipelinePlan(c).metaTrainingStages.isEmpty)
        for (label, stage) in PipelinePlan(c).metaTrainingStages {
            guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(label) is not a meta-training stage") }
            XCTAssertEqual(m.order, .secondOrder, label)
            XCTAssertEqual(m.metaLossWeighting, .linear, label)
            XCTAssertEqual(m.l3rsConfiguration.directionScale, .adam, label)
            XCTAssertEqual(m.l3rsConfiguration.stepSchedule, L3RSStepSchedule(kind: .warmupCosine, warmupFraction: 0.2), label)
        }
        XCTAssertEqual(try PipelineConfiguration.load(yaml: "horizon: 100", source: "x.yaml").directionScale, .unit)
        XCTAssertEqual(try PipelineConfiguration.load(yaml: "horizon: 100", source: "x.yaml").metaLossWeighting, .uniform)
        XCTAssertThrowsError(try PipelineConfiguration.load(yaml: "directionScale: adams", source: "x.yaml")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("directionScale") && text.contains("unit, adam"), text)
        }
    }

    /// `startFromTunedBaseline`: the meta-training stages take λ0 and the base schedule from the best-ranked
    /// Adam baseline with head multiplier 1 (a better momentum or head-10 baseline is passed over), with the
    /// baselines' warm-up fraction; without the tuning they keep the configured values; without
    /// `directionScale: adam` the key is refused.
    func testStartFromTunedBaselineTakesTheBestAdamBaselinesRateAndSchedule() throws {
        var c = try PipelineConfiguration.load(yaml: """
            startFromTunedBaseline: true
            directionScale: adam
            baseLearningRate: 0.003
            baselineOptimizers: [adam, momentum]
            schedules: [constant, warmup-cosine]
            headMultipliers: [1, 10]
            warmupFraction: 0.2
            """, source: "x.yaml")
        try c.validate()
        let plan = PipelinePlan(c)
        let momentum = PipelineBaseline(optimizer: .momentum, schedule: .constant, headMultiplier: 1)
        let adamHead = PipelineBaseline(optimizer: .adam, schedule: .constant, headMultiplier: 10)
        let adamCosine = PipelineBaseline(optimizer: .adam, schedule: .warmupCosine, headMultiplier: 1)
        let adamConstant = PipelineBaseline(optimizer: .adam, schedule: .constant, headMultiplier: 1)
        let tuning = PipelineTuning(grid: [:], learningRates: [momentum: 0.03, adamHead: 3e-4, adamCosine: 1e-3, adamConstant: 3e-4],
                                    best: momentum, ranking: [momentum, adamHead, adamCosine, adamConstant])
        XCTAssertEqual(plan.startingBaseline(tuning)?.baseline, adamCosine)
        for (label, stage) in plan.metaTrainingStages(startingFrom: tuning) {
            guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(label) is not a meta-training stage") }
            XCTAssertEqual(m.baseLearningRate, 1e-3, label)
            XCTAssertEqual(m.l3rsConfiguration.stepSchedule, L3RSStepSchedule(kind: .warmupCosine, warmupFraction: 0.2), label)
        }
        for (label, stage) in plan.metaTrainingStages {
            guard case let .metaTraining(m) = stage.kind else { return XCTFail("\(label) is not a meta-training stage") }
            XCTAssertEqual(m.baseLearningRate, 0.003, label)
            XCTAssertEqual(m.l3rsConfiguration.stepSchedule, L3RSStepSchedule(), label)
        }
        c.directionScale = .unit
        XCTAssertThrowsError(try c.validate()) { error in
            XCTAssertTrue(String(describing: error).contains("directionScale: adam"), String(describing: error))
        }
    }

    /// `tuningSeeds`: every grid point and oracle configuration runs with the evaluation seeds' first K head
    /// initialisations and data orders, one after another; the first keeps the one-seed run's name and settings.
    func testTuningSeedsRunEveryGridPointAndOracleConfigurationWithSeveralSeeds() throws {
        var c = try DefaultPipelineConfiguration.load()
        let one = PipelinePlan(c)
        c.tuningSeeds = 3
        try c.validate()
        let plan = PipelinePlan(c)
        XCTAssertEqual(plan.tuningStages.count, 3 * one.tuningStages.count)
        for (i, item) in one.tuningStages.enumerated() {
            let runs = plan.tuningStages[(3 * i)..<(3 * i + 3)]
            XCTAssertEqual(runs.map(\.stage.id), [item.stage.id, item.stage.id + "-seed1", item.stage.id + "-seed2"])
            XCTAssertTrue(runs.allSatisfy { $0.baseline == item.baseline && $0.learningRate == item.learningRate })
            guard case let .training(first) = runs.first!.stage.kind, case let .training(plain) = item.stage.kind else { return XCTFail() }
            XCTAssertEqual(first, plain, "seed 0 is the run a one-seed tuning makes")
            for (k, run) in runs.enumerated() {
                guard case let .training(t) = run.stage.kind else { return XCTFail("not a fine-tune") }
                XCTAssertEqual(t.seed, c.seed + UInt64(k))
                XCTAssertEqual(t.validationSeed, c.seed, "the held-out split never moves")
                XCTAssertEqual(t.evaluationSplit, .validation)
            }
        }
        let atHorizon = tuning(plan, steps: c.horizon)
        let oracle = plan.oracleStages(atHorizon)
        XCTAssertEqual(oracle.count, 3 * c.oracleConfigurations)
        XCTAssertEqual(oracle[3].stage.id, "oracle/config-001")
        XCTAssertEqual(oracle[5].stage.id, "oracle/config-001-seed2")
        XCTAssertEqual(oracle[5].schedule, oracle[3].schedule)
        c.tuningSeeds = 0
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue(String(describing: $0).contains("tuningSeeds must be at least 1")) }
    }

    /// `metaTrainingSeeds`: L3RS meta-trained again with seeds seed + K, identical otherwise, each an arm
    /// (`l3rs-metaK`) in every condition; the first stage is the one-seed plan's L3RS.
    func testMetaTrainingSeedsRepeatL3RSAsArmsOfTheirOwn() throws {
        var c = try DefaultPipelineConfiguration.load()
        c.seed = 7
        let one = PipelinePlan(c)
        c.metaTrainingSeeds = 3
        try c.validate()
        let plan = PipelinePlan(c)
        XCTAssertEqual(plan.repeatLabels, ["l3rs-meta1", "l3rs-meta2"])
        XCTAssertEqual(plan.metaTrainingStages.map(\.label), ["l3rs", "l3rs-meta1", "l3rs-meta2"] + plan.ablations.map(\.label))
        guard case let .metaTraining(first) = plan.metaTrainingStages[0].stage.kind,
              case let .metaTraining(plain) = one.metaTrainingStages[0].stage.kind else { return XCTFail("not meta-training") }
        XCTAssertEqual(first, plain, "the first is the one-seed plan's L3RS")
        for k in 1...2 {
            guard case let .metaTraining(m) = plan.metaTrainingStages[k].stage.kind else { return XCTFail("not meta-training") }
            XCTAssertEqual(m.seed, 7 + UInt64(k))
            XCTAssertEqual(plan.metaTrainingStages[k].stage.id, "meta-train/l3rs-meta\(k)")
            var same = m
            same.seed = first.seed
            same.name = first.name
            XCTAssertEqual(same, first, "only the seed and the name differ")
        }
        let atHorizon = tuning(plan, steps: c.horizon)
        let runs = plan.evaluationStages(tuning: Dictionary(uniqueKeysWithValues: plan.horizons.map { ($0, atHorizon) }), oracle: nil)
        let oneRuns = one.evaluationStages(tuning: Dictionary(uniqueKeysWithValues: one.horizons.map { ($0, atHorizon) }), oracle: nil)
        XCTAssertEqual(runs.count, oneRuns.count + 2 * one.conditions.count * c.seeds, "two more learned arms in every condition")
        for condition in plan.conditions {
            for label in plan.repeatLabels {
                let arm = runs.filter { $0.condition == condition && $0.arm == label }
                XCTAssertEqual(arm.count, c.seeds, "\(condition.name) \(label)")
                XCTAssertTrue(arm.allSatisfy { $0.kind == .learned })
                guard case let .training(t) = arm[0].stage.kind else { return XCTFail("not a fine-tune") }
                XCTAssertEqual(t.l3rsWeights, plan.learnedOptimizerPath(label))
            }
        }
        c.metaTrainingSeeds = 0
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue(String(describing: $0).contains("metaTrainingSeeds must be at least 1")) }
    }

    /// The choice goes by each point's mean over its seeds: one seed's lucky run does not win, and a rate that
    /// fails (no finite accuracy) for any seed is never chosen.
    func testTuningChoosesByTheMeanOverSeeds() {
        XCTAssertEqual(PipelineTuning.meanPerPoint([0.75, 0.875, 0.5, 0.5, nil, 0.99], runsPerPoint: 2), [0.8125, 0.5, nil])
        XCTAssertEqual(PipelineTuning.meanPerPoint([0.8, nil], runsPerPoint: 1), [0.8, nil])
        XCTAssertEqual(PipelineTuning.meanPerPoint([0.75, 0.875, 0.5], runsPerPoint: 2), [0.8125, nil], "an incomplete point is missing")
        let adam = PipelineBaseline(optimizer: .adam, schedule: .constant, headMultiplier: 1)
        let rates = [0.007, 0.01, 0.02]
        // Seed 0 alone prefers 0.02 (a lucky run); the mean over three seeds prefers 0.007.
        let runs: [Double?] = [0.867, 0.870, 0.866, 0.861, 0.862, 0.860, 0.8675, 0.850, 0.852]
        let one = PipelineTuning.choose(points: rates.map { (adam, $0) }, accuracies: stride(from: 0, to: 9, by: 3).map { runs[$0] }, steps: 100)
        XCTAssertEqual(one.learningRates[adam], 0.02)
        let three = PipelineTuning.choose(points: rates.map { (adam, $0) }, accuracies: PipelineTuning.meanPerPoint(runs, runsPerPoint: 3), steps: 100)
        XCTAssertEqual(three.learningRates[adam], 0.007)
        XCTAssertEqual(three.grid[adam]?.count, 3)
    }

    /// A learning rate chosen at the first or last grid point is flagged: the optimum may lie outside.
    func testChoiceAtTheGridEdgeIsFlagged() {
        let plan = PipelinePlan(PipelineConfiguration())
        let (first, second, third) = (plan.baselines[0], plan.baselines[1], plan.baselines[2])
        let tuning = PipelineTuning(grid: [:], learningRates: [:], best: first, gridSizes: [first: 5, second: 5, third: 5],
                                    chosenIndices: [first: 0, second: 2, third: 4])
        XCTAssertTrue(tuning.isAtGridEdge(first))
        XCTAssertFalse(tuning.isAtGridEdge(second))
        XCTAssertTrue(tuning.isAtGridEdge(third))
        XCTAssertFalse(tuning.isAtGridEdge(plan.baselines[3]), "a baseline that was not tuned is not flagged")
    }
}
