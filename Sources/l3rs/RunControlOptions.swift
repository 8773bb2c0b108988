import ArgumentParser
import Choices

/// Flags that override how a run proceeds (batch, seed, checkpoint cadence, divergence limit), and how the
/// job starts; shared by `finetune`, `pretrain` and `meta-train`.
struct RunControlOptions: ParsableArguments {
    @Option(help: "Images per step over all ranks (meta-train: per inner step) (default: \(trainingDefaults.globalBatch)).")
    var globalBatch: Int?
    @Option(help: "Seed of initialisation, heads, data orders and dropout (meta-train: also of φ and the validation split) (default: \(trainingDefaults.seed)).")
    var seed: UInt64?
    @Option(help: "Checkpoint every N steps (meta-train: meta-steps) (0: at the end only) (default: finetune \(trainingDefaults.checkpointEvery), meta-train \(metaTrainingDefaults.checkpointEvery)).")
    var checkpointEvery: Int?
    @Option(help: "Stop as diverged (exit 65) after this many consecutive bad steps: a non-finite loss or gradient (meta-train: a non-finite meta-gradient, or a non-finite or exploding meta-loss) (0: never).")
    var maxNonFiniteSteps: Int?
    @Option(name: .customLong("resume"), help: ArgumentHelp("auto: continue from the newest complete checkpoint of the run; none: start fresh.", valueName: "resume"))
    var resumeName = ResumeMode.none.rawValue
    @Flag(help: "With --resume auto: continue even though the configuration differs from the checkpoint's in keys that change the results (recorded in the run's configuration-changes.log).")
    var allowChangedConfiguration = false

    /// `--resume` (refused in `validate`).
    var resume: ResumeMode { ResumeMode(rawValue: resumeName) ?? .none }

    func validate() throws { _ = try flagChoice(ResumeMode.self, resumeName, flag: "--resume") }

    /// Writes every given flag into `configuration`.
    func apply<Configuration: SharedRunKeys>(to configuration: inout Configuration) {
        if let globalBatch { configuration.globalBatch = globalBatch }
        if let seed { configuration.seed = seed }
        if let checkpointEvery { configuration.checkpointEvery = checkpointEvery }
        if let maxNonFiniteSteps { configuration.maxNonFiniteSteps = maxNonFiniteSteps }
    }
}

/// How a job starts: `auto` continues from the newest complete checkpoint (the pipeline: skips complete stages
/// and continues the interrupted one); `none` starts fresh.
enum ResumeMode: String, ConfigurationChoice { case auto, none }

/// A closed-set flag's value, refused with the configuration's message ("--KEY must be one of A, B, got 'x'
/// (did you mean 'y'?)") as a `ValidationError`, so flags and YAML keys share one refusal.
func flagChoice<Choice: ConfigurationChoice>(_ type: Choice.Type, _ text: String, flag: String) throws -> Choice {
    try validating { try Choice(parsing: text, key: flag) }
}

/// A command whose options resolve to one validated configuration: validating it (before anything runs or
/// prints) is resolving it.
protocol ResolvingCommand: ParsableCommand {
    associatedtype Resolved
    func resolve() throws -> Resolved
}

extension ResolvingCommand {
    func validate() throws { _ = try validating(resolve) }
}

/// `body`'s result; any error other than a `ValidationError` becomes one, so a bad option or configuration is
/// a one-line error with exit status 64.
func validating<Result>(_ body: () throws -> Result) throws -> Result {
    do { return try body() } catch let error as ValidationError { throw error } catch {
        throw ValidationError(String(describing: error))
    }
}
