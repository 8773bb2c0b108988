import ArgumentParser
import MetaTraining
import Training

/// The keys fine-tuning and meta-training configurations share: where the run goes, what it trains on
/// (`RunSelectionOptions`), and how it proceeds (`RunControlOptions`).
protocol SharedRunKeys {
    var name: String { get set }
    var runsDirectory: String { get set }
    var model: String { get set }
    var weights: String { get set }
    var data: String { get set }
    var dataDirectory: String { get set }
    var globalBatch: Int { get set }
    var seed: UInt64 { get set }
    var checkpointEvery: Int { get set }
    var maxNonFiniteSteps: Int { get set }
}

extension TrainingConfiguration: SharedRunKeys {}
extension MetaTrainingConfiguration: SharedRunKeys {}

/// The values a flag left out takes when no configuration file sets it, shown in --help.
let trainingDefaults = TrainingConfiguration()
let metaTrainingDefaults = MetaTrainingConfiguration()

/// Flags that override those keys, shared by `finetune`, `pretrain` and `meta-train`.
struct RunSelectionOptions: ParsableArguments {
    @Option(help: "Run name: results go to RUNS/NAME/ (default: the command's name).") var name: String?
    @Option(help: "Folder of run folders (default: \(trainingDefaults.runsDirectory)).") var runsDirectory: String?
    @Option(help: "Model: mlp, ccexam-mnist, ccexam-usps, ccexam-svhn, resnet-28, resnet-32, resnet18, resnet34 (3×224×224; resnet18@112 for another side) (default: \(trainingDefaults.model)).") var model: String?
    @Option(help: "Pretrained weights (.pth or .safetensors) (default: finetune none, a random initialisation, warned; meta-train \(metaTrainingDefaults.weights)).") var weights: String?
    @Option(help: "Dataset: fashion-mnist, mnist-5k, animal-mnist, digits, npy:DIR, folder:DIR (default: \(trainingDefaults.data); pretrain mnist-5k).") var data: String?
    @Option(help: "Folder that `make data` fills (default: \(trainingDefaults.dataDirectory)).") var dataDirectory: String?

    /// Writes every given flag into `configuration`.
    func apply<Configuration: SharedRunKeys>(to configuration: inout Configuration) {
        if let name { configuration.name = name }
        if let runsDirectory { configuration.runsDirectory = runsDirectory }
        if let model { configuration.model = model }
        if let weights { configuration.weights = weights }
        if let data { configuration.data = data }
        if let dataDirectory { configuration.dataDirectory = dataDirectory }
    }
}
