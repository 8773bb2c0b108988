import ArgumentParser
import Benchmarks
import Distributed
import Foundation
import Kernels

/// `l3rs bench`: performance tables with ratios against baselines measured in the same run (docs/performance.md).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure step, layer, allreduce, optimizer and meta-training costs against in-run baselines.",
        discussion: """
        Without a launcher: single-rank tables (step times at 1 and 2 BLAS threads, the step's phases per layer
        at 1 and 2 threads, layer GFLOP/s against the sgemm
        ceiling, L3RS against Adam, meta-iteration against T inner steps, peak memory, backbone-size sweep).
        Under `mpirun -np 2`: 2 ranks against 1, allreduce share with and without overlap, allreduce vs size.
        With --measure-step: only the training step of each model at --threads, as one JSON line per model
        (what benchmarks/torch_reference.py alternates with PyTorch).
        """
    )

    @OptionGroup var distributed: DistributedOptions

    @Option(help: "Comma-separated model zoo names.")
    var models: String = "mlp,ccexam-mnist,resnet-32"

    @Option(help: "Global batch size.")
    var batch: Int = 128

    @Option(help: "Timed repeats per measurement (the median is reported).")
    var repeats: Int = 7

    @Option(help: "Inner steps T of a truncation.")
    var truncation: Int = 4

    @Option(help: "Comma-separated ResNet base widths of the backbone-size sweep (empty: skip).")
    var sweepWidths: String = "58,116,184"

    @Option(help: "Batch size of the backbone-size sweep.")
    var sweepBatch: Int = 4

    @Option(help: "Inner steps T of the backbone-size sweep (long enough for recompute mode to save memory).")
    var sweepTruncation: Int = 16

    @Option(help: "Comma-separated tables to measure: memory, sweep, step, phases, layers, optimizer, meta (one rank); scaling, allreduce, state (several).")
    var tables: String = BenchSuite.allSections.sorted().joined(separator: ",")

    @Flag(help: "Time only the training step of each model (--threads, --warmup, --repeats, --batches) and print one JSON line per model.")
    var measureStep = false

    @Option(help: "Threads of --measure-step: OpenBLAS's and the worker pool's.")
    var threads: Int = 1

    @Option(help: "Untimed steps before --measure-step's timed ones.")
    var warmup: Int = 10

    @Option(help: "Real batches for --measure-step, written by benchmarks/torch_reference.py (default: one synthetic batch).")
    var batches: String?

    @Option(help: ArgumentHelp("Run one measurement in this process and print its result line (internal).", visibility: .hidden))
    var `case`: String?

    func validate() throws {
        guard batch > 0, repeats > 0, truncation > 0, sweepBatch > 0, sweepTruncation > 0, threads > 0, warmup >= 0 else {
            throw ValidationError("--batch, --repeats, --truncation, --sweep-batch, --sweep-truncation and --threads must be positive, --warmup at least 0")
        }
        let unknown = Set(tables.split(separator: ",").map(String.init)).subtracting(BenchSuite.allSections)
        guard unknown.isEmpty else {
            throw ValidationError("unknown --tables \(unknown.sorted().joined(separator: ", ")); known: \(BenchSuite.allSections.sorted().joined(separator: ", "))")
        }
    }

    func run() throws {
        if let spec = `case` {
            ComputeThreads.set(1)
            let isSweep = spec.contains("resnet16-w")
            printLine(try MemoryCase(spec: spec, batch: isSweep ? sweepBatch : batch,
                                     truncationLength: isSweep ? sweepTruncation : truncation).run(repeats: 3))
            return
        }
        let modelNames = models.split(separator: ",").map(String.init)
        if measureStep {
            for name in modelNames {
                printLine(try BenchSuite.measureStep(model: name, batch: batch, threads: threads, warmup: warmup, repeats: repeats,
                                                     batchFile: batches))
            }
            return
        }
        var suite = BenchSuite(models: modelNames, batch: batch, repeats: repeats, truncationLength: truncation,
                               runCase: runChild, emit: printLine)
        suite.sections = Set(tables.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        try runOnRank(distributed) { communicator in
            if communicator.isRoot {
                printLine("l3rs bench: \(communicator.size) rank(s), \(communicator.implementationName), BLAS \(BLASInfo.coreName), "
                          + "\(ProcessInfo.processInfo.activeProcessorCount) cores; medians of \(repeats) after warm-up")
            }
            if communicator.size == 1 {
                // Child processes first, while this process is still small (see BenchSuite.runMemory).
                try suite.runMemory()
                let widths = sweepWidths.split(separator: ",").compactMap { Int($0) }
                if !widths.isEmpty {
                    var sweep = suite
                    sweep.batch = sweepBatch
                    sweep.truncationLength = sweepTruncation
                    try sweep.runBackboneSweep(widths: widths)
                }
                try suite.runSingleRank()
            } else {
                try suite.runDistributed(communicator: communicator)
            }
        }
    }

    /// Runs `l3rs bench --case SPEC` in a fresh process (peak memory is per process) and returns its output.
    private func runChild(_ spec: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["bench", "--launcher", "none", "--case", spec, "--batch", String(batch),
                             "--sweep-batch", String(sweepBatch), "--truncation", String(truncation),
                             "--sweep-truncation", String(sweepTruncation)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw BenchError.childFailed("\(spec) exited \(process.terminationStatus): \(text)") }
        return text
    }
}
