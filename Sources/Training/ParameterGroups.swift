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
        // Per-layer-group multipliers and schedules (the schedule oracle) label groups by their role.
        let byRole = !configuration.groupMultipliers.isEmpty || !configuration.groupSchedules.isEmpty
        let roles = byRole ? LayerGroups.roles(of: model) : []
        var groups: [ParameterGroup] = []
        for (index, entry) in model.parameters.entries.enumerated() {
            let frozenBy = configuration.freeze.filter { matches(entry.name, pattern: $0) }
            unmatched.subtract(frozenBy)
            let role = byRole ? roles[index] : nil
            var multiplier = !frozenBy.isEmpty ? 0 : (head.contains(entry.name) ? configuration.headLearningRateMultiplier : 1)
            if let role { multiplier *= configuration.groupMultipliers[role] ?? 1 }
            let schedule = role.flatMap { configuration.groupSchedules[$0] }.map { groupSchedule($0, configuration) }
            let decays = entry.kind == .convWeight || entry.kind == .linearWeight
            let label = head.contains(entry.name) ? "head" : (!frozenBy.isEmpty ? "frozen" : (role ?? "body"))
            if var last = groups.last, last.learningRateMultiplier == multiplier, last.appliesWeightDecay == decays,
               last.offset + last.count == entry.offset, last.name == label, last.schedule == schedule {
                last.count += entry.count
                groups[groups.count - 1] = last
            } else {
                groups.append(ParameterGroup(name: label, offset: entry.offset, count: entry.count,
                                             learningRateMultiplier: multiplier, appliesWeightDecay: decays, schedule: schedule))
            }
        }
        if !unmatched.isEmpty {
            throw ConfigurationError.invalid(["freeze pattern(s) \(unmatched.sorted().joined(separator: ", ")) match no parameter of \(model.name); its parameters are \(model.parameters.entries.map(\.name).joined(separator: ", "))"])
        }
        return groups
    }

    /// A layer group's schedule: the run's warm-up, then the named decay shape over the run's steps.
    static func groupSchedule(_ shape: String, _ configuration: TrainingConfiguration) -> LearningRateSchedule {
        let steps = configuration.steps
        switch shape {
        case "cosine": return LearningRateSchedule(warmupSteps: configuration.warmupSteps, decay: .cosine(totalSteps: steps, finalFraction: 0))
        case "linear": return LearningRateSchedule(warmupSteps: configuration.warmupSteps, decay: .linear(totalSteps: steps, finalFraction: 0))
        default: return LearningRateSchedule(warmupSteps: configuration.warmupSteps, decay: .constant)
        }
    }

    /// Shell-style glob match (`features.*`, `layer?.0.*`).
    public static func matches(_ name: String, pattern: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}

extension TrainingConfiguration {
    /// The hand-designed optimizer this configuration describes.
    public func optimizerConfiguration() throws -> OptimizerConfiguration {
        guard let base = optimizer.base else {
            throw ConfigurationError.invalid(["optimizer \(optimizer.rawValue) is learned, not a hand-designed optimizer"])
        }
        let configuration = OptimizerConfiguration(
            optimizer: base, learningRate: learningRate, weightDecay: weightDecay,
            schedule: schedule, warmupSteps: warmupSteps, totalSteps: steps,
            finalLearningRateFraction: 0, maxGradientNorm: clipNorm > 0 ? clipNorm : nil)
        try configuration.validate()
        return configuration
    }
}
