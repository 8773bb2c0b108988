import ArgumentParser
import Foundation

/// The `l3rs` command: fine-tune pretrained image classifiers with a learned optimizer, and meta-train it.
@main
struct L3RSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l3rs",
        abstract: "Learned layer-wise optimizers for fine-tuning pretrained image classifiers, data-parallel over MPI.",
        discussion: """
        Run one rank with no launcher, or many with `mpirun -np N l3rs ...` (srun with PMIx works too).
        Design notes live in docs/ of the repository.
        """,
        version: L3RSVersion.string,
        subcommands: [SelftestCommand.self, DoctorCommand.self, InspectCommand.self, FinetuneCommand.self, PretrainCommand.self, MetaTrainCommand.self, PipelineCommand.self, EvalCommand.self, ReportCommand.self, BenchCommand.self]
    )

    /// Parses and runs the command. A bad option is found by every rank before MPI starts; only the launcher's
    /// rank 0 prints the message (every rank exits non-zero), so a job's log shows it once and unscrambled.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code != .success && LauncherEnvironment.rank.map({ $0 != 0 }) == true { Foundation.exit(code.rawValue) }
            exit(withError: error)
        }
    }
}

/// What the launcher tells a process before MPI starts.
enum LauncherEnvironment {
    /// This process's rank as set by mpirun, srun (PMIx) or a PMI launcher; nil without a launcher.
    static var rank: Int? {
        let environment = ProcessInfo.processInfo.environment
        for key in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"] {
            if let value = environment[key], let rank = Int(value) { return rank }
        }
        return nil
    }
}

/// The program's version, printed by `l3rs --version` and written into run folders.
enum L3RSVersion {
    static let string = "0.1.0"
}
