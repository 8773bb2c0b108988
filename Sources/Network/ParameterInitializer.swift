import Seeding

/// PyTorch's default initialisation, reproduced by distribution (not bit for bit: the generator differs).
///
/// - Conv2d and Linear weights: `kaiming_uniform_(a=√5)`, i.e. gain √(2/(1+5)) = √(1/3) and bound
///   gain·√(3/fan_in) = 1/√fan_in, so U(−1/√fan_in, 1/√fan_in).
/// - Their biases: U(−1/√fan_in, 1/√fan_in) with the weight's fan_in.
/// - BatchNorm/LayerNorm: scale 1, shift 0; running_mean 0, running_var 1, num_batches_tracked 0.
///
/// Entries are filled in table order from one SplitMix64 stream, so a seed fixes the whole model.
public enum ParameterInitializer {
    /// The bound b of U(−b, b) that PyTorch uses for this entry (nil for constant-initialised kinds).
    public static func uniformBound(for entry: ParameterEntry) -> Float? {
        switch entry.kind {
        case .convWeight, .linearWeight, .bias:
            precondition(entry.fanIn > 0, "\(entry.name) has no fan-in recorded")
            return 1 / Float(entry.fanIn).squareRoot()
        case .normScale, .normShift, .runningMean, .runningVariance, .batchCount:
            return nil
        }
    }

    /// The constant PyTorch starts this entry at (nil for randomly initialised kinds).
    public static func constantValue(for kind: ParameterKind) -> Float? {
        switch kind {
        case .normScale, .runningVariance: return 1
        case .normShift, .runningMean, .batchCount: return 0
        case .convWeight, .linearWeight, .bias: return nil
        }
    }

    /// Initialises `entries` of `store` in order, drawing from `generator`.
    public static func initialize(
        _ entries: [ParameterEntry], in store: ParameterStore, using generator: inout SplitMix64
    ) {
        for entry in entries {
            let values = store.values(of: entry)
            if let bound = uniformBound(for: entry) {
                for i in 0..<values.count { values[i] = generator.nextFloat(in: -bound, bound) }
            } else if let constant = constantValue(for: entry.kind) {
                values.initialize(repeating: constant)
            }
        }
    }
}
