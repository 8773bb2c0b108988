@testable import Network
import Seeding

/// Seeded test inputs and parameter fills.
enum TestData {
    static func uniform(shape: [Int], in lower: Float, _ upper: Float, seed: UInt64) -> Tensor {
        let tensor = Tensor(shape: shape)
        var generator = SplitMix64(seed: seed)
        for i in 0..<tensor.count { tensor[i] = generator.nextFloat(in: lower, upper) }
        return tensor
    }

    /// Values at least `margin` away from zero (ReLU's kink), random sign.
    static func awayFromZero(shape: [Int], margin: Float = 0.1, seed: UInt64) -> Tensor {
        let tensor = Tensor(shape: shape)
        var generator = SplitMix64(seed: seed)
        for i in 0..<tensor.count {
            let magnitude = margin + generator.nextUnitFloat()
            tensor[i] = generator.nextUnitFloat() < 0.5 ? -magnitude : magnitude
        }
        return tensor
    }

    /// Distinct values spaced `spacing` apart in a random order, so no max-pool window has a near tie.
    static func wellSeparated(shape: [Int], spacing: Float = 0.1, seed: UInt64) -> Tensor {
        let tensor = Tensor(shape: shape)
        var order = Array(0..<tensor.count)
        var generator = SplitMix64(seed: seed)
        order.shuffle(using: &generator)
        for i in 0..<tensor.count { tensor[i] = Float(order[i]) * spacing - Float(tensor.count) * spacing / 2 }
        return tensor
    }

    /// Fills every parameter with U(lower, upper) (norm scales shifted to around 1), so that checks do not
    /// depend on special initial values such as γ = 1, β = 0.
    static func randomize(_ store: ParameterStore, seed: UInt64, lower: Float = -1, upper: Float = 1) {
        var generator = SplitMix64(seed: seed)
        for entry in store.entries {
            let values = store.values(of: entry)
            for i in 0..<values.count {
                let u = generator.nextFloat(in: lower, upper)
                values[i] = entry.kind == .normScale ? 1 + 0.5 * u : u
            }
        }
    }

    /// Labels 0, 1, 2, … cycling through `classes`.
    static func labels(count: Int, classes: Int) -> [Int] { (0..<count).map { ($0 * 7 + 3) % classes } }
}
