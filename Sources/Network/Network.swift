/// The network engine: a flat parameter buffer with a layer table, layers with forward/backward passes,
/// models and losses.
public enum NetworkModule {}
