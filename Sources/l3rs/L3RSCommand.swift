import ArgumentParser

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
        subcommands: [SelftestCommand.self, InspectCommand.self, FinetuneCommand.self, PretrainCommand.self, BenchCommand.self]
    )
}

/// The program's version, printed by `l3rs --version` and written into run folders.
enum L3RSVersion {
    static let string = "0.1.0"
}
