import Network
import Optimizers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a model's layer table and a run's configuration into the optimizer's parameter groups: the
/// classification head's learning-rate multiplier, frozen layers (multiplier 0), and no weight decay on
/// biases and norm parameters. Adjacent layers with the same rules share a group.
public enum ParameterGroups {
    public static func make(for model: Model, configuration: TrainingConfiguration) throws -> [ParameterGroup] {
        let head = Set(model.headParameterNames)
        var unmatched = Set(configuration.freeze)
        var groups: [ParameterGroup] = []
        for entry in model.parameters.entries {
            let frozenBy = configuration.freeze.filter { matches(entry.name, pattern: $0) }
            unmatched.subtract(frozenBy)
            let multiplier = !frozenBy.isEmpty ? 0 : (head.contains(entry.name) ? configuration.headLearningRateMultiplier : 1)
            let decays = entry.kind == .convWeight || entry.kind == .linearWeight
            let label = head.contains(entry.name) ? "head" : (frozenBy.isEmpty ? "body" : "frozen")
            if var last = groups.last, last.learningRateMultiplier == multiplier, last.appliesWeightDecay == decays,
               last.offset + last.count == entry.offset, last.name == label {
                last.count += entry.count
                groups[groups.count - 1] = last
            } else {
                groups.append(ParameterGroup(name: label, offset: entry.offset, count: entry.count,
                                             learningRateMultiplier: multiplier, appliesWeightDecay: decays))
            }
        }
        if !unmatched.isEmpty {
            throw ConfigurationError.invalid(["freeze pattern(s) \(unmatched.sorted().joined(separator: ", ")) match no parameter of \(model.name); its parameters are \(model.parameters.entries.map(\.name).joined(separator: ", "))"])
        }
        return groups
    }

    /// Shell-style glob match (`features.*`, `layer?.0.*`).
    public static func matches(_ name: String, pattern: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}

extension TrainingConfiguration {
    /// The hand-designed optimizer this configuration describes.
    public func optimizerConfiguration() throws -> OptimizerConfiguration {
        let configuration = OptimizerConfiguration(
            optimizer: try OptimizerKind(parsing: optimizer), learningRate: learningRate, weightDecay: weightDecay,
            schedule: try ScheduleKind(parsing: schedule), warmupSteps: warmupSteps, totalSteps: steps,
            finalLearningRateFraction: 0, maxGradientNorm: clipNorm > 0 ? clipNorm : nil)
        try configuration.validate()
        return configuration
    }
}
