import Optimizers

/// Reductions over a meta-gradient: finiteness (a non-finite meta-gradient must skip the meta-step, not
/// poison φ) and the global norm used for clipping.
public enum MetaGradientCheck {
    /// True when no entry is NaN or infinite.
    public static func isFinite(_ gradient: [Float]) -> Bool {
        gradient.allSatisfy(\.isFinite)
    }

    /// √(Σ g²), accumulated in Double: the inner gradient's norm (`GradientClipping.globalNorm`).
    public static func globalNorm(_ gradient: [Float]) -> Double {
        gradient.withUnsafeBufferPointer(GradientClipping.globalNorm)
    }
}
