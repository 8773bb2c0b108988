import Foundation

/// Runs a program under `mpirun` (or with no launcher) as a child process with a hard time limit, so that a
/// hang fails the test that started it instead of stalling CI.
public struct LaunchResult: Sendable {
    /// The child's exit status (or the signal number for a signalled child), nil if it was killed on timeout.
    public let exitCode: Int32?
    public let standardOutput: String
    public let standardError: String
    public let seconds: Double
    public var timedOut: Bool { exitCode == nil }
    /// Both streams, for failure messages.
    public var transcript: String { "--- stdout ---\n\(standardOutput)\n--- stderr ---\n\(standardError)" }
}

public enum MPIRun {
    /// The folder of the built products (where the test bundle and the `l3rs` executable live).
    public static var productsFolder: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// The path of the test bundle's executable, for re-running a test class under mpirun.
    public static var testBundleExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    }

    /// The `l3rs` executable built beside the tests.
    public static var l3rsExecutable: String { productsFolder.appendingPathComponent("l3rs").path }

    /// mpirun with the flags a test needs here: oversubscription (2 cores), running as root, one BLAS thread.
    public static func launch(ranks: Int, _ arguments: [String], timeout: Double = 120,
                              environment extra: [String: String] = [:]) throws -> LaunchResult {
        var mpirunArguments = ["-np", String(ranks), "--oversubscribe", "--bind-to", "none",
                               "-x", "OPENBLAS_NUM_THREADS=1"]
        if getuid() == 0 { mpirunArguments.append("--allow-run-as-root") }
        return try run("/usr/bin/mpirun", mpirunArguments + arguments, timeout: timeout, environment: extra)
    }

    /// Runs any program with a time limit; on timeout the child gets SIGTERM, then SIGKILL 5 s later.
    public static func run(_ executable: String, _ arguments: [String], timeout: Double,
                           environment extra: [String: String] = [:]) throws -> LaunchResult {
        let outputFile = try emptyTemporaryFile(prefix: "l3rs-test", tag: "stdout")
        let errorFile = try emptyTemporaryFile(prefix: "l3rs-test", tag: "stderr")
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        let process = try Process.child(executable, arguments, environment: extra, outputFile: outputFile, errorFile: errorFile)

        let start = Date()
        try process.run()
        var killed = false
        var exitedUnnoticed: Int32?
        while process.isRunning {
            // Foundation sometimes misses a child's exit (seen with scripts that start daemons); ask the kernel too.
            if let status = exitStatusWithoutReaping(process.processIdentifier) {
                exitedUnnoticed = status
                break
            }
            if Date().timeIntervalSince(start) > timeout {
                killed = true
                process.terminate()
                let grace = Date()
                while process.isRunning && Date().timeIntervalSince(grace) < 5 { usleep(50_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            usleep(20_000)
        }
        if exitedUnnoticed == nil { process.waitUntilExit() }
        let seconds = Date().timeIntervalSince(start)
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return LaunchResult(exitCode: killed ? nil : (exitedUnnoticed ?? process.terminationStatus),
                            standardOutput: output, standardError: error, seconds: seconds)
    }
}

extension MPIRun {
    /// The repository's root folder (where Package.swift, jobs/ and hostfiles/ are).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The data folder `make data` fills (or L3RS_DATA_DIR).
    public static var dataDirectory: String {
        ProcessInfo.processInfo.environment["L3RS_DATA_DIR"] ?? repositoryRoot.appendingPathComponent("data").path
    }
}

/// The exit status (or the signal number) of a child that has ended, read without reaping it (WNOWAIT), so that
/// Foundation's own bookkeeping of the child is undisturbed; nil while it runs.
public func exitStatusWithoutReaping(_ pid: Int32) -> Int32? {
    var info = siginfo_t()
    guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid else {
        return nil
    }
    return info._sifields._sigchld.si_status
}
