/// A small, fast, seedable random number generator (SplitMix64).
///
/// L3RS needs shuffles, splits and augmentations that are identical on every rank and every run for a given
/// seed, on every platform and Swift version. The standard library's generator is not seedable and its
/// shuffle algorithm is not promised to stay the same, so both the generator and the algorithms that use it
/// (`uniform(below:)`, `permutation`) are written here.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one purpose within a run, e.g. (seed, epoch): different streams never overlap by
    /// construction because every component is mixed into the seed.
    public init(seed: UInt64, stream components: UInt64...) {
        var mixed = SeededGenerator.mix(seed)
        for component in components { mixed = SeededGenerator.mix(mixed ^ SeededGenerator.mix(component &+ 0x9E37_79B9_7F4A_7C15)) }
        state = mixed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededGenerator.mix(state)
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

    /// A uniform Float in [0, 1).
    public mutating func unitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
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

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
