/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; the
/// constants of Vigna's public-domain reference): a tiny, fast, seedable generator whose whole state is one
/// UInt64. Every random choice of L3RS comes from it: initialisation, dropout masks, shuffles, splits,
/// augmentation and φ's start. A seed must give the same model, data order and learned-optimizer start on
/// every platform, rank and Swift version; the standard library's generator is not seedable and its shuffle
/// is not promised to stay the same, so the generator and the algorithms over it (`uniform(below:)`,
/// `permutation`, `standardNormals` in StandardNormal.swift) are written here, once.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one purpose within a run, e.g. (seed, epoch): different streams never overlap by
    /// construction because every component is mixed into the seed.
    public init(seed: UInt64, stream components: UInt64...) {
        var mixed = Self.mix(seed)
        for component in components { mixed = Self.mix(mixed ^ Self.mix(component &+ 0x9E37_79B9_7F4A_7C15)) }
        state = mixed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in [0, 1) with 24 random bits (every representable step of a Float in that range).
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [lower, upper).
    public mutating func nextFloat(in lower: Float, _ upper: Float) -> Float {
        lower + (upper - lower) * nextUnitFloat()
    }

    /// Uniform in [−halfWidth, halfWidth) as (2u − 1)·halfWidth: the rounding φ's initialisation was pinned with.
    public mutating func uniform(halfWidth: Float) -> Float {
        (2 * nextUnitFloat() - 1) * halfWidth
    }

    /// A uniform integer in 0..<bound without modulo bias (Lemire's multiply-and-reject).
    public mutating func uniform(below bound: Int) -> Int {
        precondition(bound > 0)
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// A permutation of 0..<count (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        if count < 2 { return order }
        for index in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(index, uniform(below: index + 1))
        }
        return order
    }

    /// A seed for an independent sub-stream, derived from `seed` and a stream index (for example one
    /// dropout layer's index), so that sub-streams do not depend on how much another stream consumed.
    public static func derivedSeed(_ seed: UInt64, stream: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return generator.next()
    }

    /// The SplitMix64 output function.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
