/// Reductions over a meta-gradient: finiteness (a non-finite meta-gradient must skip the meta-step, not
/// poison φ) and the global norm used for clipping.
public enum MetaGradientCheck {
    /// True when no entry is NaN or infinite.
    public static func isFinite(_ gradient: [Float]) -> Bool {
        gradient.allSatisfy(\.isFinite)
    }

    /// √(Σ g²), accumulated in Double.
    public static func globalNorm(_ gradient: [Float]) -> Double {
        var sum = 0.0
        for value in gradient {
            sum += Double(value) * Double(value)
        }
        return sum.squareRoot()
    }
}
