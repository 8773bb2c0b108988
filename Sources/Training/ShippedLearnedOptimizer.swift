import Foundation

/// The meta-trained L3RS that ships in the repository (jobs/learned/README.md has its provenance), the rule
/// `finetune --optimizer l3rs` uses when no learned-optimizer file is named, and how the binary finds it.
///
/// Where it is looked for, in order: the file `L3RS_DEFAULT_WEIGHTS` names (only that, when set); the clone
/// this binary was built from (this source file's path, baked in at build time); the clone around the
/// executable (`.build/<configuration>/l3rs`, two folders up); the current directory. A missing file is an
/// error naming every place looked.
public enum ShippedLearnedOptimizer {
    /// The file, relative to the repository root.
    public static let relativePath = "jobs/learned/l3rs-ccexam-fmnist.safetensors"
    /// The environment variable that overrides where the shipped file is found.
    public static let environmentVariable = "L3RS_DEFAULT_WEIGHTS"
    /// The `l3rsWeights` value (`--l3rs-weights none`) that selects the untrained rule: normalised Adam at
    /// λ0 = the learning rate.
    public static let untrainedName = "none"

    /// The learned-optimizer file a command-line or YAML `l3rsWeights` value means for `optimizer`: with
    /// l3rs, empty is the shipped file (located), `none` is the untrained rule (empty, as the trainer reads
    /// it), anything else the file named. Other optimizers keep the value (validation refuses a non-empty one).
    public static func resolve(
        weights: String, optimizer: TrainingOptimizer,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executablePath: String? = Bundle.main.executablePath
    ) throws -> String {
        guard optimizer == .l3rs else {
            return weights == untrainedName ? "" : weights
        }
        if weights == untrainedName { return "" }
        guard weights.isEmpty else { return weights }
        return try locate(environment: environment, executablePath: executablePath)
    }

    /// The places the shipped file is looked for, in order (see the type's comment).
    public static func candidates(environment: [String: String], executablePath: String?) -> [String] {
        if let override = environment[environmentVariable], !override.isEmpty { return [override] }
        var places: [String] = []
        // Sources/Training/ShippedLearnedOptimizer.swift → the repository root.
        let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        places.append(sourceRoot.appendingPathComponent(relativePath).standardizedFileURL.path)
        if let executablePath {
            // .build/<configuration>/l3rs (or .build/<triple>/<configuration>/l3rs through a link).
            let executable = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath()
            var folder = executable.deletingLastPathComponent()
            for _ in 0..<3 {
                folder = folder.deletingLastPathComponent()
                places.append(folder.appendingPathComponent(relativePath).standardizedFileURL.path)
            }
        }
        places.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(relativePath).standardizedFileURL.path)
        var seen = Set<String>()
        return places.filter { seen.insert($0).inserted }
    }

    /// The first candidate that is a readable file.
    public static func locate(environment: [String: String], executablePath: String?) throws -> String {
        let places = candidates(environment: environment, executablePath: executablePath)
        if let found = places.first(where: { FileManager.default.isReadableFile(atPath: $0) }) { return found }
        let override = environment[environmentVariable].map { _ in " (\(environmentVariable) is set)" } ?? ""
        throw TrainingError.checkpoint("""
            the shipped learned optimizer \(relativePath) was not found; looked in \
            \(places.joined(separator: ", "))\(override). Set \(environmentVariable) to the file, pass \
            --l3rs-weights FILE, or --l3rs-weights \(untrainedName) for the untrained L3RS
            """)
    }
}
