import Network

/// The layer groups a per-group schedule addresses, derived from any model's layer table by role: the first
/// convolution, the other convolutions, the hidden linear layers, and the classification head. Biases and
/// norm parameters join the group of the weight layer before them. A model without convolutions simply has
/// empty convolution groups, so one schedule description fits every backbone.
public enum LayerGroups {
    public static let firstConvolution = "first-conv"
    public static let convolutions = "conv"
    public static let hiddenLinear = "hidden"
    public static let head = "head"
    /// Every group name, in the order the layers usually come.
    public static let names = [firstConvolution, convolutions, hiddenLinear, head]

    /// The group of every parameter entry, in layer-table order.
    public static func roles(of model: Model) -> [String] {
        let head = Set(model.headParameterNames)
        var seenConvolution = false
        var current: String?
        var roles: [String] = []
        for entry in model.parameters.entries {
            if head.contains(entry.name) { roles.append(Self.head); continue }
            switch entry.kind {
            case .convWeight:
                current = seenConvolution ? convolutions : firstConvolution
                seenConvolution = true
            case .linearWeight:
                current = hiddenLinear
            default:
                break
            }
            // A parameter before any weight layer (a leading norm) belongs with the first layer after it.
            roles.append(current ?? firstWeightRole(model))
        }
        return roles
    }

    private static func firstWeightRole(_ model: Model) -> String {
        let first = model.parameters.entries.first { $0.kind == .convWeight || $0.kind == .linearWeight }
        return first?.kind == .convWeight ? firstConvolution : hiddenLinear
    }
}
