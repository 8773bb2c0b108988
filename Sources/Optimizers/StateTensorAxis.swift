/// How one tensor of an optimizer's checkpointed state relates to the parameters, so that sharded optimizer
/// state (each rank holding a run of whole layers) can gather the shards into the whole tensor for a
/// checkpoint and cut a whole tensor into shards on resume.
public enum StateTensorAxis: Sendable, Equatable {
    /// One value per parameter element, in buffer order (base-rule moments).
    case elements
    /// One value per layer in its last axis, in table order (L3RS's per-layer statistics, [decays, layers]).
    case layers
    /// The same on every rank (a global quantity, such as L3RS's loss averages).
    case replicated
}
