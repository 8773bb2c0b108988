import Choices

/// What a fine-tuning run does with the backbone's classification head (the YAML key and flag `head`).
public enum HeadInitialisation: String, ConfigurationChoice {
    /// Use the pretrained head as loaded (evaluation, or fine-tuning on the backbone's own classes).
    case keep
    /// Re-initialise the head from the run's seed (a new task; the number of outputs follows the data).
    case reinit
}
