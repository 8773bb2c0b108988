/// The learning-rate schedules by the names the command line and YAML files use.
public enum ScheduleKind: String, LenientlyNamed {
    case constant
    case cosine
    case warmupCosine = "warmup-cosine"
    /// Linear decay to the final fraction at the last step (warm-up first when `warmupSteps` > 0).
    case linear

    /// The error for a name that is none of the kinds.
    public static func unknown(_ name: String) -> OptimizerConfigurationError {
        .unknownSchedule(name, validNames: validNames)
    }
}
