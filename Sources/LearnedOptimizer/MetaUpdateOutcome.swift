/// What one meta-optimizer step did, for the meta-training log.
public enum MetaUpdateOutcome: Sendable, Equatable {
    /// φ was updated; `gradientNorm` is the norm before clipping and `clipScale` the factor applied (1 when
    /// the norm was within the limit).
    case applied(gradientNorm: Double, clipScale: Double)
    /// The meta-gradient had a NaN or infinity; φ and the meta-optimizer state are unchanged.
    case skippedNonFinite
}
