import ArgumentParser
import Choices
import Datasets
import Distributed
import Foundation
import Training

/// `l3rs eval`: accuracy and loss of a model's weights on a dataset split, sharded over ranks.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Accuracy and loss of weights (.pth or .safetensors) on a dataset split, sharded over ranks."
    )

    @Option(help: "Weights file (.pth or .safetensors).") var weights: String
    @Option(help: "Model: mlp, ccexam-mnist, ccexam-usps, ccexam-svhn, resnet-28, resnet-32, resnet18, resnet34 (3×224×224; resnet18@112 for another side).") var model: String
    @Option(help: "Dataset: fashion-mnist, mnist-5k, animal-mnist, digits, npy:DIR, folder:DIR.") var data: String
    @Option(help: "Split: test, train or all (default: test where the dataset has one, else all).") var split: String?
    @Option(help: "Folder that `make data` fills.") var dataDirectory = "data"
    @Flag(help: "Resize images to the model's input when shapes differ.") var resize = false
    @OptionGroup var distributed: DistributedOptions

    /// The model and weights as a configuration, for the same checks and model building as finetune's.
    private var configuration: TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.weights = weights
        configuration.head = .keep
        configuration.data = data
        configuration.dataDirectory = dataDirectory
        configuration.resize = resize
        return configuration
    }

    func validate() throws {
        if let split, DatasetSplit(rawValue: split) == nil {
            throw ValidationError("--split must be test, train or all, got '\(split)'" + Suggestion.hint(for: split, among: ["test", "train", "all"]))
        }
        if let problem = configuration.namingProblems().first { throw ValidationError(problem) }
        do { try TrainingPreflight.check(configuration, learningRateFlag: false) } catch let error as ValidationError { throw error } catch {
            throw ValidationError(String(describing: error))
        }
    }

    func run() throws {
        do {
            try runOnRank(distributed) { communicator in
                let descriptor = try DatasetRegistry.descriptor(named: data)
                let chosen = split.map { DatasetSplit(rawValue: $0)! } ?? (descriptor.splits.contains(.test) ? .test : .all)
                let network = try TrainingRun.makeModel(configuration, classCount: max(descriptor.classCount, 1))
                let raw = try DatasetRegistry.load(data, split: chosen, dataDirectory: dataDirectory, imageShape: network.inputShape)
                let dataset = try InputPipeline.prepare(raw, for: network, resize: resize)
                let start = Date()
                let result = try ShardedObjective(model: network, communicator: communicator).evaluate(dataset)
                if communicator.isRoot {
                    printLine(String(format: "%@ on %@ (%@, %d images, %d rank(s)): accuracy %.4f, loss %.4f (%.1f s)",
                                     model, data, chosen.rawValue, dataset.count, communicator.size,
                                     result.accuracy, result.loss, Date().timeIntervalSince(start)))
                }
            }
        } catch ExitCodeError.failure {
            throw ExitCode.failure
        }
    }
}
