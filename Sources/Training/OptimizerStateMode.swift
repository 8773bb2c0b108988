import Choices

/// Where the optimizer's state lives in a data-parallel run.
///
/// - `replicated` (the default): every rank holds the whole state (base-rule moments, L3RS statistics) and
///   takes the whole update from the allreduced gradient.
/// - `sharded` (ZeRO stage 1, `ShardedUpdateStep`): each rank holds the state of its own run of whole layers
///   only (about 1/R of it), receives only its shard of the mean gradient (reduce-scatter), updates only those
///   parameters and all-gathers the rest. On 2 ranks the parameters are bit-identical to `replicated`.
public enum OptimizerStateMode: String, ConfigurationChoice {
    case replicated, sharded
}
