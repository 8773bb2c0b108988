import Foundation

/// A child process that a test watches while it runs (to signal or kill it mid-run), with its output in files
/// that can be read at any time. Whatever happens, `finish` ends it within the given time limit, so a hang fails
/// the test instead of stalling CI.
public final class BackgroundProcess {
    public let process: Process
    private let outputFile: URL
    private let errorFile: URL
    public let started = Date()

    /// Starts `executable` with `arguments`; the environment is this process's, without any launcher's variables,
    /// plus `extra`.
    public init(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:]) throws {
        outputFile = try emptyTemporaryFile(prefix: "l3rs-bg", tag: "stdout")
        errorFile = try emptyTemporaryFile(prefix: "l3rs-bg", tag: "stderr")
        process = try Process.child(executable, arguments, environment: extra, outputFile: outputFile, errorFile: errorFile)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }

    /// Standard output and error so far.
    public var output: String {
        ((try? String(contentsOf: outputFile, encoding: .utf8)) ?? "") + ((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }

    /// Waits until `condition` holds (checked every 50 ms) or the process ended or `timeout` passed; says whether it held.
    public func wait(timeout: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(50_000)
        }
        return condition()
    }

    /// The process IDs of the direct children (for mpirun: its ranks on this node), from /proc.
    public var childProcessIDs: [Int32] {
        let pid = process.processIdentifier
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Waits for the process to end, at most `timeout` seconds (then SIGKILL). Returns the exit status, or nil if it
    /// had to be killed.
    public func finish(timeout: Double) -> Int32? {
        var unnoticed: Int32?
        let ended = wait(timeout: timeout) {
            // Foundation sometimes misses a child's exit; ask the kernel too (see exitStatusWithoutReaping).
            if let status = exitStatusWithoutReaping(process.processIdentifier) { unnoticed = status }
            return unnoticed != nil || !process.isRunning
        }
        if !ended {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        if let unnoticed { return unnoticed }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
