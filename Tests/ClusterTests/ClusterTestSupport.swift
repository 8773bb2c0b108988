import Foundation
import TestSupport
import XCTest

/// Shared pieces of the cluster tests: a scratch folder per test, and the short job every test trains.
enum ClusterJob {
    /// A fresh folder under the temporary directory for one test's runs and logs.
    static func scratchFolder(_ tag: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-\(tag)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A path inside the repository (a job script, a configuration).
    static func script(_ path: String) -> String { MPIRun.repositoryRoot.appendingPathComponent(path).path }

    /// The short job's configuration (jobs/configs/cluster-smoke.yaml).
    static var smokeConfiguration: String { script("jobs/configs/cluster-smoke.yaml") }

    /// `l3rs finetune` arguments of the short job, `steps` long.
    static func finetuneArguments(name: String, runs: URL, steps: Int) -> [String] {
        ["finetune", "--config", smokeConfiguration, "--data-directory", MPIRun.dataDirectory,
         "--runs-directory", runs.path, "--name", name, "--steps", String(steps)]
    }

    /// The hash in a run's summary.txt ("... parameter hash 0123456789abcdef").
    static func parameterHash(in text: String) -> String? {
        guard let range = text.range(of: "parameter hash ", options: .backwards) else { return nil }
        let hash = text[range.upperBound...].prefix { $0.isHexDigit }
        return hash.count == 16 ? String(hash) : nil
    }
}
