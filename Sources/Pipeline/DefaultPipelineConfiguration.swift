/// The default pipeline (`l3rs pipeline` with no --config, `make demo`): jobs/configs/pipeline-default.yaml,
/// embedded so the binary runs it from any folder. A test keeps this text equal to the file.
public enum DefaultPipelineConfiguration {
    public static let source = "jobs/configs/pipeline-default.yaml (embedded)"

    public static let yaml = """
# The main job (`make demo`, `l3rs pipeline` with no --config): the paper's protocol (docs/method.md §6) on the
# imported ccexam MNIST net with the seeded comparison (5 seeds per arm, intervals, baselines tuned at
# the horizon, a small schedule oracle), small enough for 2 ranks on a 2-core machine in under 15 minutes
# with the build (docs/pipeline.md, "Size and time"; jobs/configs/pipeline-large.yaml is the full set).
#   mpirun --allow-run-as-root --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1 .build/release/l3rs pipeline
# Embedded in the binary (Sources/Pipeline/DefaultPipelineConfiguration.swift holds the same text; a test
# keeps them equal). Paths of data and weights are relative to dataDirectory.
name: pipeline-default
dataDirectory: data
model: ccexam-mnist
weights: ccexam/mnist.pth
seenData: fashion-mnist
unseenData: animal-mnist
globalBatch: 128
horizon: 100
# 4x the horizon is in pipeline-large.yaml: five more seeds of 400-step runs do not fit the demo's 15 minutes.
longHorizons: [2]
evalEvery: 10
curveImages: 1000
seeds: 5
bootstrapResamples: 2000
seed: 0
pretrainData: mnist-5k
pretrainSteps: 150
pretrainLearningRate: 0.001
pretrainSeed: 1
metaSteps: 20
truncation: 10
innerRuns: 2
# λ0 3e-3 and meta-learning rate 1e-2: in preliminary runs (docs/design.md, "Pipeline defaults") λ0 1e-3
# learned slower and 1e-2 was unstable at step 100; 20 meta-steps at 1e-2 matched 40.
metaLearningRate: 0.01
baseLearningRate: 0.003
# μ_adam ≈ 0.96 at init, so the mix gets a meta-gradient; ρ anchors λ against the short-horizon bias.
initialPreferredLogit: 4
stepSizePenalty: 0.1
validationFraction: 0.1
ablations: []
ablationConditions: [seen, unseen]
baselineOptimizers: [adam, momentum]
schedules: [constant, warmup-cosine]
headMultipliers: [1]
warmupFraction: 0.1
learningRateGrids:
  adam: [0.003, 0.01, 0.03]
  momentum: [0.003, 0.01, 0.03]
evaluatedBaselines: 1
oracleConfigurations: 10
"""

    public static func load() throws -> PipelineConfiguration {
        try PipelineConfiguration.load(yaml: yaml, source: source)
    }
}
