import ArgumentParser
import Datasets
import Foundation
import Training

/// Checks of a resolved training configuration against what it names on disk, run from `validate()` on
/// every rank before anything prints or MPI starts: the weights and learned-optimizer files, the dataset's
/// files, whether the weights fit the model and the images fit its input, and flags that would be ignored.
/// Then the warnings for choices that run but are probably not what the user meant.
enum TrainingPreflight {
    /// - Parameter learningRateFlag: whether --learning-rate was given (ignored with --l3rs-weights).
    static func check(_ c: TrainingConfiguration, learningRateFlag: Bool) throws {
        if learningRateFlag && !c.l3rsWeights.isEmpty {
            throw ValidationError("--learning-rate would be ignored: the learned optimizer \(c.l3rsWeights) (--l3rs-weights; without it the shipped one) sets its own step sizes; drop --learning-rate, or pass --l3rs-weights \(ShippedLearnedOptimizer.untrainedName) to run the untrained L3RS at that rate")
        }
        for (flag, path) in [("--weights (weights:)", c.weights), ("--l3rs-weights (l3rsWeights:)", c.l3rsWeights)] where !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("\(flag): cannot read \(path)") }
        }
        let descriptor: DatasetDescriptor
        do { descriptor = try DatasetRegistry.descriptor(named: c.data) } catch { throw ValidationError("--data (data:): \(error)") }
        if !(c.data.hasPrefix("npy:") || c.data.hasPrefix("folder:")) {
            for path in descriptor.files.values.flatMap({ $0 }).map({ c.dataDirectory + "/" + $0 }).sorted()
            where !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("--data \(c.data): missing \(path) (run `make data`, or point --data-directory at the folder)")
            }
        }
        let model = try TrainingRun.makeModel(c, classCount: max(descriptor.classCount, 1))
        if c.optimizer == .l3rs && !c.l3rsWeights.isEmpty {
            // The learned optimizer must fit this model's layer table (an embedding file fits only its backbone).
            do {
                _ = try LearnedOptimizerFile.load(c.l3rsWeights, layers: LayerSlices.make(for: model),
                                                  parameterCount: model.parameterCount)
            } catch {
                throw ValidationError("--l3rs-weights (l3rsWeights:) \(c.l3rsWeights): \(error) (--l3rs-weights \(ShippedLearnedOptimizer.untrainedName) runs the untrained L3RS, which fits any model)")
            }
        }
        if !c.resize, !descriptor.imageShape.isEmpty, descriptor.imageShape != model.inputShape {
            let shape = { (s: [Int]) in s.map(String.init).joined(separator: "×") }
            throw ValidationError("model \(c.model) takes images of shape \(shape(model.inputShape)) but \(c.data) has \(shape(descriptor.imageShape)); pass --resize (or resize: true) to resize them")
        }
    }

    /// Lines to print (as "warning: …") before the run starts.
    static func warnings(_ c: TrainingConfiguration, command: String) -> [String] {
        var lines: [String] = []
        if command == "finetune" && c.weights.isEmpty {
            lines.append("finetune without --weights (weights:) trains \(c.model) from a random initialisation; pass pretrained weights, or use `l3rs pretrain` to train from scratch")
        }
        if !c.l3rsWeights.isEmpty, let horizon = try? LearnedOptimizerFile.horizon(of: c.l3rsWeights), c.steps > horizon {
            lines.append("--steps \(c.steps) runs the learned optimizer \(c.l3rsWeights) past the \(horizon)-step horizon it was meta-trained for; its step sizes beyond step \(horizon) are extrapolation")
        }
        return lines
    }
}
