import LearnedOptimizer
import Network

/// The adapter from Network's layer table to the one L3RS reads: every trainable tensor becomes one
/// `LayerSlice` with its kind and relative depth index/(L−1), so the input end is 0 and the head is 1
/// whatever the architecture (which is what lets the embedding-free variant transfer between backbones).
public enum LayerSlices {
    /// The slices of a parameter table, in table order. Buffers (BatchNorm running statistics) are not
    /// trained and never appear in a parameter store, so they have no slice.
    public static func make(from entries: [ParameterEntry]) -> [LayerSlice] {
        let last = max(entries.count - 1, 1)
        return entries.enumerated().map { index, entry in
            LayerSlice(name: entry.name, offset: entry.offset, count: entry.count, kind: kind(of: entry.kind),
                       relativeDepth: entries.count == 1 ? 1 : Float(index) / Float(last))
        }
    }

    /// The slices of a model's trainable parameters.
    public static func make(for model: Model) -> [LayerSlice] { make(from: model.parameters.entries) }

    /// L3RS's kinds are the trainable subset of Network's.
    static func kind(of kind: ParameterKind) -> LayerKind {
        switch kind {
        case .convWeight: .convWeight
        case .linearWeight: .linearWeight
        case .bias: .bias
        case .normScale: .normScale
        case .normShift: .normShift
        default: preconditionFailure("parameter kind \(kind) is a buffer, not a trainable tensor")
        }
    }
}
