/// Why an L3RS optimizer could not be built or loaded.
public enum L3RSError: Error, Equatable, CustomStringConvertible {
    case invalidLayerTable(String)
    case invalidConfiguration(String)
    case tensorMismatch(String)

    public var description: String {
        switch self {
        case .invalidLayerTable(let message): "invalid layer table: \(message)"
        case .invalidConfiguration(let message): "invalid L3RS configuration: \(message)"
        case .tensorMismatch(let message): "meta-parameter tensors do not match the configuration: \(message)"
        }
    }
}
