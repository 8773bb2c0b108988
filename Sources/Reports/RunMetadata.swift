import Foundation

/// Where and how a run was made, for the top of its report: the code's commit, the command line, the ranks and
/// hosts, the machine, the wall time and the date. A reader of a report months later needs these to trust or
/// repeat it.
public struct RunMetadata: Sendable, Equatable {
    public var commit: String
    public var commandLine: String
    public var ranks: Int
    public var nodes: Int
    public var host: String
    public var machine: String
    public var started: Date
    public var finished: Date

    public init(commit: String, commandLine: String, ranks: Int, nodes: Int, host: String, machine: String,
                started: Date, finished: Date) {
        self.commit = commit
        self.commandLine = commandLine
        self.ranks = ranks
        self.nodes = nodes
        self.host = host
        self.machine = machine
        self.started = started
        self.finished = finished
    }

    /// This process's run: its command line, this machine, and the commit of the checkout that holds the executable.
    public static func current(ranks: Int, nodes: Int, host: String, started: Date, finished: Date = Date()) -> RunMetadata {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        return RunMetadata(commit: commit(of: executable.deletingLastPathComponent()),
                           commandLine: CommandLine.arguments.map(shellQuoted).joined(separator: " "),
                           ranks: ranks, nodes: nodes, host: host,
                           machine: "\(ProcessInfo.processInfo.activeProcessorCount) cores, "
                               + String(format: "%.0f GiB", Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824)
                               + ", " + ProcessInfo.processInfo.operatingSystemVersionString,
                           started: started, finished: finished)
    }

    /// The commit of the checkout holding `folder` (12 hex digits, "-dirty" with uncommitted changes to tracked
    /// files), or a note saying there is none.
    static func commit(of folder: URL) -> String {
        guard let head = git(["rev-parse", "--short=12", "HEAD"], in: folder), head.status == 0, !head.output.isEmpty else {
            return "unknown (the executable is not in a git checkout)"
        }
        let dirty = git(["diff", "--quiet", "HEAD", "--"], in: folder)?.status == 1
        return head.output + (dirty ? "-dirty" : "")
    }

    /// Runs git in `folder`; nil when git cannot be started.
    private static func git(_ arguments: [String], in folder: URL) -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// An argument as a shell would need it typed.
    static func shellQuoted(_ argument: String) -> String {
        let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@,+%".contains($0) }
        return plain && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The wall time from start to finish.
    public var seconds: Double { finished.timeIntervalSince(started) }

    /// Label and value of each item, in the order a report lists them.
    public func items(duration: (Double) -> String) -> [(label: String, value: String)] {
        let date = ISO8601DateFormatter()
        return [("Date", date.string(from: finished)), ("Commit", commit), ("Command line", commandLine),
                ("Ranks", "\(ranks) on \(nodes) node(s); rank 0 on \(host)"), ("Machine (rank 0)", machine),
                ("Wall time", duration(seconds) + " (this invocation, from " + date.string(from: started) + ")")]
    }

    /// The items as report.json's "run" object.
    public var json: [String: Any] {
        let date = ISO8601DateFormatter()
        return ["commit": commit, "command_line": commandLine, "ranks": ranks, "nodes": nodes, "host": host, "machine": machine,
                "started": date.string(from: started), "finished": date.string(from: finished), "wall_seconds": seconds]
    }
}
