import Foundation

extension SplitMix64 {
    /// Uniform in the open interval (0, 1) with 53 random bits: safe to take the logarithm of.
    public mutating func nextOpenUnitDouble() -> Double {
        (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992
    }

    /// `count` standard normal values by Box–Muller, two per pair of uniforms (an odd count drops the last
    /// sine): the evolution strategies' perturbations, written once so that the meta-trainer and the tests that
    /// reproduce its estimators draw them the same way.
    public mutating func standardNormals(count: Int) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        var index = 0
        while index < count {
            let radius = (-2 * log(nextOpenUnitDouble())).squareRoot(), angle = 2 * Double.pi * nextOpenUnitDouble()
            values[index] = Float(radius * cos(angle))
            if index + 1 < count { values[index + 1] = Float(radius * sin(angle)) }
            index += 2
        }
        return values
    }
}
