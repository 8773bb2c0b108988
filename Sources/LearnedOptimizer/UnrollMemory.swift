/// How the reverse pass gets the intermediates of the truncation's steps (docs/method.md §5, "Memory"). Both
/// modes give bit-identical meta-gradients.
public enum UnrollMemory: Sendable, Equatable {
    /// Keep θ_k, the base directions (and their scales), features and activations of every step from the
    /// forward pass: about T·(P + 2)·n floats (more in second-order mode: g_k and base states).
    case storeAll
    /// Keep only a snapshot of (θ, state) at the start of every segment of `segmentLength` steps; the
    /// reverse pass re-runs each segment's forward from its snapshot, last segment first. Memory: T/s
    /// snapshots plus one segment's intermediates; cost: one extra forward pass of training gradients
    /// (validation gradients are evaluated only once, in the re-run). `segmentLength` ≥ T re-runs the
    /// whole truncation from its start state.
    case recompute(segmentLength: Int)
}
