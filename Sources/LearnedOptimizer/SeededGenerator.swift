/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): a tiny
/// deterministic generator, so the initial φ depends only on the configured seed, on every platform.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [−halfWidth, halfWidth], from the top 24 bits (exactly representable in Float).
    mutating func uniform(halfWidth: Float) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return (2 * unit - 1) * halfWidth
    }
}
