import Datasets
import Network

/// Prepares a dataset for a backbone the way it was trained: pixels scaled to [0, 1], then normalised with the
/// backbone's own mean and standard deviation. A dataset whose image shape differs from the backbone's input is
/// an error unless resizing is asked for (then: bilinear resize, grey repeated to the backbone's channels).
public enum InputPipeline {
    /// The normalisation each built-in backbone was trained with (data.md); others use mean 0.5, std 0.5.
    public static func normalisation(for model: String) -> (mean: [Float], std: [Float]) {
        switch model {
        case "ccexam-mnist": return ([0.1307], [0.3081])
        case "ccexam-usps": return ([0.2471], [0.2994])
        case "ccexam-svhn": return ([0.4377, 0.4438, 0.4728], [0.1980, 0.2010, 0.1970])
        // torchvision's ImageNet statistics, which its pretrained ResNets expect.
        case "resnet18", "resnet34": return ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        default: return ([0.5], [0.5])
        }
    }

    public static func prepare(_ dataset: Dataset, for model: Model, resize: Bool) throws -> Dataset {
        var prepared = dataset.scaledToUnitRange()
        let target = model.inputShape
        if prepared.imageShape != target {
            guard resize else {
                throw TrainingError.shapeMismatch(
                    "model \(model.name) takes images of shape \(target.map(String.init).joined(separator: "×")) but \(dataset.name) has "
                        + "\(dataset.imageShape.map(String.init).joined(separator: "×")); pass --resize (or resize: true) to resize them")
            }
            if prepared.height != target[1] || prepared.width != target[2] {
                prepared = try prepared.resized(height: target[1], width: target[2])
            }
            if prepared.channels != target[0] {
                guard prepared.channels == 1 else {
                    throw TrainingError.shapeMismatch("cannot turn \(prepared.channels)-channel images into \(target[0]) channels")
                }
                prepared = try prepared.expandingGrey(toChannels: target[0])
            }
        }
        let (mean, std) = normalisation(for: model.name)
        return try prepared.normalized(mean: mean, std: std)
    }
}
