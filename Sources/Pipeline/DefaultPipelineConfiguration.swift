/// The default pipeline (`l3rs pipeline` with no --config, `make demo`): jobs/configs/pipeline-default.yaml,
/// embedded so the binary runs it from any folder. A test keeps this text equal to the file.
public enum DefaultPipelineConfiguration {
    public static let source = "jobs/configs/pipeline-default.yaml (embedded)"

    public static let yaml = """
# The main job (`make demo`, `l3rs pipeline` with no --config): the paper's protocol (method.md §6) on the
# imported ccexam MNIST net, small enough for 2 ranks on a 2-core machine in under 15 minutes.
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
longHorizons: [2, 4]
evalEvery: 25
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
ablations: [stepSizeOnly, mixingOnly, embeddingFree]
ablationConditions: [seen, unseen]
baselineOptimizers: [adam, momentum]
schedules: [constant, cosine]
headMultipliers: [1, 10]
learningRateGrids:
  adam: [0.001, 0.003, 0.01, 0.03, 0.1]
  momentum: [0.0003, 0.001, 0.003, 0.01, 0.03]
tuningSteps: 40
longHorizonAllBaselines: false
"""

    public static func load() throws -> PipelineConfiguration {
        try PipelineConfiguration.load(yaml: yaml, source: source)
    }
}
