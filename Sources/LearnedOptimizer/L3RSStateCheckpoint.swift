import Checkpoints
import Optimizers

/// `L3RSState` as named tensors plus string metadata (the safetensors model), so a run can be checkpointed
/// mid-horizon and resumed bit-identically.
///
/// Tensors: "l3rs.base.<p>.first_moment" / "…second_moment" (only the slots the rule uses),
/// "l3rs.initial_parameter_rms", "l3rs.initial_gradient_rms", "l3rs.parameter_rms_averages",
/// "l3rs.gradient_rms_averages", "l3rs.loss_averages". Metadata: the step counters, ξ_0 of the loss and the
/// non-finite count, as decimal strings (Swift prints Float so that it reads back exactly).
extension L3RSState {
    public var checkpointTensors: [NamedTensor] {
        var tensors: [NamedTensor] = []
        for (p, base) in baseStates.enumerated() {
            if !base.firstMoment.isEmpty {
                tensors.append(NamedTensor(name: "l3rs.base.\(p).first_moment", shape: [base.firstMoment.count],
                                           floats: base.firstMoment))
            }
            if !base.secondMoment.isEmpty {
                tensors.append(NamedTensor(name: "l3rs.base.\(p).second_moment", shape: [base.secondMoment.count],
                                           floats: base.secondMoment))
            }
        }
        let layerCount = initialParameterRMS.count
        let decays = FeatureLayout.emaDecays.count
        tensors += [
            NamedTensor(name: "l3rs.initial_parameter_rms", shape: [layerCount], floats: initialParameterRMS),
            NamedTensor(name: "l3rs.initial_gradient_rms", shape: [layerCount], floats: initialGradientRMS),
            NamedTensor(name: "l3rs.parameter_rms_averages", shape: [decays, layerCount], floats: parameterRMSAverages),
            NamedTensor(name: "l3rs.gradient_rms_averages", shape: [decays, layerCount], floats: gradientRMSAverages),
            NamedTensor(name: "l3rs.loss_averages", shape: [decays], floats: lossAverages),
        ]
        return tensors
    }

    /// How each tensor of `checkpointTensors` relates to the parameters (nil: not a tensor of this state).
    public static func checkpointTensorAxis(_ name: String) -> StateTensorAxis? {
        if name.hasPrefix("l3rs.base.") { return .elements }
        switch name {
        case "l3rs.initial_parameter_rms", "l3rs.initial_gradient_rms", "l3rs.parameter_rms_averages",
             "l3rs.gradient_rms_averages":
            return .layers
        case "l3rs.loss_averages": return .replicated
        default: return nil
        }
    }

    /// Metadata that counts over layers, so that shards of the state add up to the whole state's value.
    public static let checkpointMetadataSummedOverLayers: Set<String> = ["l3rs.non_finite_feature_count"]

    public var checkpointMetadata: [String: String] {
        var metadata = [
            "l3rs.step": String(step),
            "l3rs.run_horizon": String(horizon),
            "l3rs.base_count": String(baseStates.count),
            "l3rs.initial_loss": String(initialLoss),
            "l3rs.non_finite_feature_count": String(nonFiniteFeatureCount),
        ]
        for (p, base) in baseStates.enumerated() {
            metadata["l3rs.base.\(p).step"] = String(base.step)
        }
        return metadata
    }

    /// Restores a state written by `checkpointTensors` and `checkpointMetadata`. `template` (the optimizer's
    /// `makeState()`) fixes which slots each base rule uses and the sizes to expect.
    public init(checkpointTensors tensors: [NamedTensor], metadata: [String: String], template: L3RSState)
        throws(L3RSError)
    {
        func integer(_ key: String) throws(L3RSError) -> Int {
            guard let text = metadata[key], let value = Int(text) else { throw .tensorMismatch("metadata \(key)") }
            return value
        }
        func tensor(_ name: String, count: Int) throws(L3RSError) -> [Float] {
            guard let found = tensors.first(where: { $0.name == name }) else { throw .tensorMismatch("missing \(name)") }
            guard found.dtype == .f32, found.elementCount == count else {
                throw .tensorMismatch("\(name) has \(found.elementCount) \(found.dtype.rawValue) values, expected \(count) F32")
            }
            return found.floats()
        }
        guard try integer("l3rs.base_count") == template.baseStates.count else {
            throw .tensorMismatch("the checkpoint has another number of base optimizers")
        }
        self = template
        step = try integer("l3rs.step")
        horizon = metadata["l3rs.run_horizon"].flatMap { Int($0) } ?? 0
        nonFiniteFeatureCount = try integer("l3rs.non_finite_feature_count")
        guard let loss = metadata["l3rs.initial_loss"].flatMap(Float.init) else {
            throw .tensorMismatch("metadata l3rs.initial_loss")
        }
        initialLoss = loss
        for p in baseStates.indices {
            let shape = template.baseStates[p]
            baseStates[p] = OptimizerState(
                step: try integer("l3rs.base.\(p).step"),
                firstMoment: shape.firstMoment.isEmpty
                    ? [] : try tensor("l3rs.base.\(p).first_moment", count: shape.firstMoment.count),
                secondMoment: shape.secondMoment.isEmpty
                    ? [] : try tensor("l3rs.base.\(p).second_moment", count: shape.secondMoment.count))
        }
        initialParameterRMS = try tensor("l3rs.initial_parameter_rms", count: template.initialParameterRMS.count)
        initialGradientRMS = try tensor("l3rs.initial_gradient_rms", count: template.initialGradientRMS.count)
        parameterRMSAverages = try tensor("l3rs.parameter_rms_averages", count: template.parameterRMSAverages.count)
        gradientRMSAverages = try tensor("l3rs.gradient_rms_averages", count: template.gradientRMSAverages.count)
        lossAverages = try tensor("l3rs.loss_averages", count: template.lossAverages.count)
    }
}
