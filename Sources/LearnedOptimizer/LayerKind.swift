/// What a parameter tensor is in the network, as far as the learned optimizer cares.
///
/// The embedding-free variant of L3RS feeds this as a one-hot feature instead of a per-layer embedding, so a
/// meta-trained optimizer can be applied to a network it was not trained on (docs/method.md §7).
public enum LayerKind: String, CaseIterable, Sendable, Codable {
    case convWeight
    case linearWeight
    case bias
    case normScale
    case normShift

    /// Position of this kind in the one-hot feature (declaration order, fixed forever because trained φ
    /// depends on it).
    public var oneHotIndex: Int {
        switch self {
        case .convWeight: 0
        case .linearWeight: 1
        case .bias: 2
        case .normScale: 3
        case .normShift: 4
        }
    }
}
