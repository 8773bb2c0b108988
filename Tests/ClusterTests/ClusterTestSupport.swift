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

    /// The start of an mpirun command line that runs the rest of it with every argument equal to `shared`
    /// replaced by `own` on the ranks where the shell test `condition` holds (`[ "$OMPI_COMM_WORLD_RANK" = 1 ]`,
    /// `[ "$(hostname)" = node-b ]`): the per-node paths a wrapper script gives ranks whose node has its own disk.
    static func replacingPath(_ shared: String, with own: String, where condition: String) -> [String] {
        ["/bin/sh", "-c", """
         shared="$1" own="$2"; shift 2
         if \(condition); then for a; do shift; [ "$a" = "$shared" ] && a="$own"; set -- "$@" "$a"; done; fi
         exec "$@"
         """, "sh", shared, own]
    }

    /// The hash in a run's summary.txt ("... parameter hash 0123456789abcdef").
    static func parameterHash(in text: String) -> String? {
        guard let range = text.range(of: "parameter hash ", options: .backwards) else { return nil }
        let hash = text[range.upperBound...].prefix { $0.isHexDigit }
        return hash.count == 16 ? String(hash) : nil
    }
}
