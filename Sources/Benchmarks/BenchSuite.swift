import Distributed
import Foundation
import Kernels
import LearnedOptimizer
import Network
import Training

/// `l3rs bench`: every table of the performance report, each ratio against a baseline measured in the same
/// run. The single-rank part runs without a launcher; the distributed part under `mpirun -np 2`.
public struct BenchSuite {
    public var models: [String]
    public var batch: Int
    public var repeats: Int
    public var truncationLength: Int
    /// Runs a `MemoryCase` in a fresh process and returns its output.
    public var runCase: (String) throws -> String
    /// Where each table goes as soon as it is measured.
    public var emit: (String) -> Void
    /// Which tables to measure: memory, sweep, step, phases, layers, optimizer, meta, scaling, allreduce, state.
    public var sections: Set<String> = BenchSuite.allSections
    public static let allSections: Set<String> = ["memory", "sweep", "step", "phases", "layers", "optimizer", "meta", "scaling",
                                                  "allreduce", "state"]

    public init(models: [String], batch: Int, repeats: Int, truncationLength: Int,
                runCase: @escaping (String) throws -> String, emit: @escaping (String) -> Void) {
        self.models = models
        self.batch = batch
        self.repeats = repeats
        self.truncationLength = truncationLength
        self.runCase = runCase
        self.emit = emit
    }

    // MARK: single rank

    /// Peak memory of fine-tuning and meta-training, one child process per row. Run it before this process
    /// allocates anything large: Linux carries ru_maxrss across fork and exec, so a child's figure is at least
    /// its parent's resident size at the fork.
    public func runMemory() throws {
        guard sections.contains("memory") else { return }
        var memory = BenchTable(title: "Peak resident memory (ru_maxrss, one process per row), batch \(batch)",
                                header: ["run", "parameters", "seconds per step / iteration", "peak MiB"])
        for name in models {
            for spec in ["finetune:\(name)", "meta:\(name):store", "meta:\(name):recompute"] {
                let result = try caseResult(spec)
                memory.add([spec, String(result.parameters), Format.fixed(result.seconds, 3), Format.mebibytes(result.peakBytes)])
            }
        }
        emit(memory.render())
    }

    /// Step times, layer throughput, optimizer and meta-training costs, on one rank.
    public func runSingleRank() throws {
        let single = SingleProcessCommunicator()
        ComputeThreads.set(1)
        guard !sections.isDisjoint(with: ["step", "phases", "layers", "optimizer", "meta"]) else { return }
        let ceiling1 = LayerThroughput.sgemmCeiling()
        ComputeThreads.set(2)
        let ceiling2 = LayerThroughput.sgemmCeiling()
        ComputeThreads.set(1)
        var ceilingTable = BenchTable(title: "sgemm ceiling (1536³ as `GEMM` runs it: blocks on the worker pool, same run)",
                                      header: ["threads", "GFLOP/s"])
        ceilingTable.add(["1", Format.fixed(ceiling1, 1)])
        ceilingTable.add(["2", Format.fixed(ceiling2, 1)])
        emit(ceilingTable.render())

        // Step time, forward + backward + Adam, batch `batch`.
        var stepSeconds: [String: Double] = [:]
        if sections.contains("step") {
            var steps = BenchTable(title: "Training step (forward + backward + Adam), batch \(batch), 1 rank, "
                                   + "threads = BLAS and worker pool",
                                   header: ["model", "parameters", "1 thread ms", "images/s", "2 threads ms", "2 thr speed-up"])
            for name in models {
                let model = try ModelZoo.make(named: name, seed: 1)
                let bench = try TrainingStepBench(model: model, batch: batch, communicator: single, overlap: false)
                ComputeThreads.set(1)
                let one = try bench.measure(warmup: 2, repeats: repeats).step
                ComputeThreads.set(2)
                let two = try bench.measure(warmup: 2, repeats: repeats).step
                ComputeThreads.set(1)
                stepSeconds[name] = one
                steps.add([name, String(model.parameterCount), Format.milliseconds(one), Format.fixed(Double(batch) / one, 0),
                           Format.milliseconds(two), Format.ratio(one / two)])
            }
            emit(steps.render())
        }

        if sections.contains("phases") {
            for name in models { emit(try phaseTable(model: name)) }
        }

        if sections.contains("layers") {
            let probe = LayerThroughput.CeilingProbe()
            var layers = BenchTable(
                title: "Layer throughput, batch \(batch), 1 thread, against a 1024³ sgemm timed between the layer's repeats",
                header: ["layer", "fwd GFLOP/s", "fwd+bwd GFLOP/s", "sgemm GFLOP/s", "fwd % ceiling", "fwd+bwd % ceiling"])
            for shape in LayerThroughput.zooShapes {
                let result = LayerThroughput.measure(shape, batch: batch, repeats: repeats, probe: probe)
                layers.add([result.name, Format.fixed(result.forward, 1), Format.fixed(result.training, 1),
                            Format.fixed(result.ceiling, 1), Format.percent(result.forward / result.ceiling),
                            Format.percent(result.training / result.ceiling)])
            }
            emit(layers.render())
        }

        var updates = BenchTable(title: "Optimizer update, 1 thread (L3RS: sgd+momentum+adam, embedding variant)",
                                 header: ["model", "Adam ms", "L3RS ms", "L3RS − Adam ms", "step ms", "(L3RS − Adam) / step"])
        var meta = BenchTable(title: "Meta-training iteration (first order, store), T = \(truncationLength), batch \(batch), 1 thread",
                              header: ["model", "T inner steps ms", "meta iteration ms", "meta / T steps"])
        for name in models where sections.contains("optimizer") || sections.contains("meta") {
            var bench = try MetaTrainingBench(model: try ModelZoo.make(named: name, seed: 1), batch: batch,
                                              truncationLength: truncationLength)
            if sections.contains("optimizer") {
                let cost = try bench.updateCosts(repeats: max(repeats, 7))
                let step = try stepSeconds[name] ?? TrainingStepBench(model: bench.problem.model, batch: batch, communicator: single,
                                                                      overlap: false).measure(warmup: 2, repeats: repeats).step
                updates.add([name, Format.milliseconds(cost.adam), Format.milliseconds(cost.l3rs),
                             Format.milliseconds(cost.l3rs - cost.adam), Format.milliseconds(step),
                             Format.percent((cost.l3rs - cost.adam) / step)])
            }
            guard sections.contains("meta") else { continue }
            let inner = bench.innerSteps(repeats: max(3, repeats / 2))
            let iteration = bench.metaIteration(repeats: max(3, repeats / 2))
            meta.add([name, Format.milliseconds(inner), Format.milliseconds(iteration), Format.ratio(iteration / inner)])
        }
        if sections.contains("optimizer") { emit(updates.render()) }
        if sections.contains("meta") { emit(meta.render()) }
    }

    /// Where one step's time goes at 1 and 2 threads (`StepPhaseProfile`): per phase the median ms, its share of
    /// the step, the share of its 1-thread time in work the pool splits and the speed-up that share allows at 2
    /// threads (Amdahl: 1 / (1 − split/2), perfect halves; a figure the load does not move, unlike the measured
    /// 2-thread column on a busy machine), the 2-thread speed-up, and what the phase costs at 2 threads beyond 1/1.7 of its 1-thread time
    /// (the 1.7× target): the rows with the largest excess are what keeps the step from it.
    func phaseTable(model name: String) throws -> String {
        var profile = try StepPhaseProfile(model: try ModelZoo.make(named: name, seed: 1), batch: batch)
        let phases = try profile.measure(threadCounts: [1, 2], warmup: 2, repeats: repeats)
        let whole = phases.last?.seconds ?? [.nan, .nan]
        var table = BenchTable(title: "Step phases, \(name), batch \(batch), 1 rank, 1 vs 2 threads (BLAS and worker pool, "
                               + "alternated step by step; medians of \(repeats))",
                               header: ["phase", "1 thread ms", "share", "split work at 1 thr", "bound at 2 thr", "2 threads ms",
                                        "share", "speed-up", "2 thr ms over 1/1.7"])
        for phase in phases {
            let (one, two) = (phase.seconds[0], phase.seconds[1])
            table.add([phase.name, Format.fixed(one * 1e3, 3), Format.percent(one / whole[0]), Format.percent(phase.splitShare),
                       Format.ratio(1 / (1 - phase.splitShare / 2)), Format.fixed(two * 1e3, 3),
                       Format.percent(two / whole[1]), Format.ratio(one / two), Format.fixed((two - one / 1.7) * 1e3, 3)])
        }
        return table.render()
    }

    /// One training step of `model` at `threads` (BLAS and worker pool), on `batches` when given: every timed
    /// step's seconds after `warmup`, and the process's CPU seconds per step, as the JSON line that
    /// `benchmarks/torch_reference.py` reads.
    public static func measureStep(model name: String, batch: Int, threads: Int, warmup: Int, repeats: Int,
                                   batchFile: String?) throws -> String {
        ComputeThreads.set(threads)
        let model = try ModelZoo.make(named: name, seed: 1)
        let batches = try batchFile.map {
            try BatchFile.read(path: $0, batch: batch, inputShape: model.inputShape, classCount: model.classCount)
        } ?? []
        let bench = try TrainingStepBench(model: model, batch: batch, communicator: SingleProcessCommunicator(), overlap: false,
                                          batches: batches)
        for _ in 0..<warmup { try bench.step() }
        var steps: [Double] = []
        let cpuStart = Stopwatch.processCPU()
        for _ in 0..<repeats {
            let start = Stopwatch.now()
            try bench.step()
            steps.append(Stopwatch.now() - start)
        }
        let cpuPerStep = (Stopwatch.processCPU() - cpuStart) / Double(repeats)
        let record: [String: Any] = ["side": "ours", "model": name, "threads": ComputeThreads.count,
                                     "blasThreads": ComputeThreads.count, "openblasThreads": BLASInfo.threadCount, "median": Stopwatch.median(of: steps),
                                     "cpuPerStep": cpuPerStep, "samples": steps]
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Meta-training time and peak memory against backbone size, in both memory modes (separate processes).
    public func runBackboneSweep(widths: [Int]) throws {
        guard sections.contains("sweep") else { return }
        var sweep = BenchTable(
            title: "Meta-training (first order) vs backbone size: ResNet [1,1,1] on 3×16×16, T = \(truncationLength), batch \(batch)",
            header: ["width", "parameters", "mode", "iteration s", "s per M params", "peak MiB", "MiB per M params"])
        for width in widths {
            for mode in ["store", "recompute"] {
                let result = try caseResult("meta:resnet16-w\(width):\(mode)")
                let millions = Double(result.parameters) / 1e6
                sweep.add([String(width), String(result.parameters), mode, Format.fixed(result.seconds, 3),
                           Format.fixed(result.seconds / millions, 3), Format.mebibytes(result.peakBytes),
                           Format.fixed(Double(result.peakBytes) / 1_048_576 / millions, 1)])
            }
        }
        emit(sweep.render())
    }

    private func caseResult(_ spec: String) throws -> (seconds: Double, peakBytes: Int, parameters: Int) {
        let output = try runCase(spec)
        guard let result = MemoryCase.parse(output) else { throw BenchError.childFailed("\(spec): \(output)") }
        return result
    }

    // MARK: two ranks

    /// Under mpirun: one rank alone against all ranks (images/s), the allreduce's share of the step with and
    /// without overlap, and allreduce time against message size.
    public func runDistributed(communicator: any Communicator) throws {
        try runShardedState(communicator: communicator)
        let ranks = communicator.size
        let localBatch = batch / ranks
        var scaling = BenchTable(
            title: "Data parallel: global batch \(batch), \(ranks) ranks × 1 thread vs 1 rank × 1 thread (same run; ms are medians)",
            header: ["model", "1 rank ms", "\(ranks) ranks ms", "images/s ratio", "fastest-step ratio", "gradient MiB", "allreduce ms",
                     "allreduce / step", "no overlap: wait ms", "wait / step", "overlap: step ms", "images/s ratio", "wait ms",
                     "wait / step"])
        ComputeThreads.set(1)
        for name in models where sections.contains("scaling") {
            let model = try ModelZoo.make(named: name, seed: 1)
            // Rank 0 alone while the others sleep (not spin: MPI_Barrier busy-polls a core that rank 0's
            // baseline should have to itself), alternated step by step with every rank together.
            let aloneBench = communicator.rank == 0
                ? try TrainingStepBench(model: try ModelZoo.make(named: name, seed: 1), batch: batch,
                                        communicator: SingleProcessCommunicator(), overlap: false)
                : nil
            let plain = try TrainingStepBench(model: model, batch: localBatch, communicator: communicator, overlap: false)
            let overlapped = try TrainingStepBench(model: model, batch: localBatch, communicator: communicator, overlap: true)
            let times = try TrainingStepBench.alternating(alone: aloneBench, together: [plain, overlapped], warmup: 2, repeats: repeats)
            let alone = times.alone.isEmpty ? Double.nan : Stopwatch.median(of: times.alone)
            let aloneFastest = times.alone.min() ?? .nan
            let together = (step: Stopwatch.median(of: times.together[0]), exposedReduce: Stopwatch.median(of: times.exposedReduce[0]),
                            fastest: times.together[0].min() ?? .nan)
            let hidden = (step: Stopwatch.median(of: times.together[1]), exposedReduce: Stopwatch.median(of: times.exposedReduce[1]))
            // The gradient's allreduce on its own, ranks aligned by a barrier first: the communication cost
            // without the waiting for a slower rank that the in-step wait also contains.
            let reduce = try AllreduceBench.seconds(elements: model.parameterCount, communicator: communicator, repeats: repeats)
            scaling.add([name, Format.milliseconds(alone), Format.milliseconds(together.step),
                         Format.ratio(alone / together.step), Format.ratio(aloneFastest / together.fastest), Format.fixed(Double(model.parameterCount * 4) / 1_048_576, 2),
                         Format.milliseconds(reduce), Format.percent(reduce / together.step),
                         Format.milliseconds(together.exposedReduce), Format.percent(together.exposedReduce / together.step),
                         Format.milliseconds(hidden.step), Format.ratio(alone / hidden.step), Format.milliseconds(hidden.exposedReduce),
                         Format.percent(hidden.exposedReduce / hidden.step)])
        }
        if communicator.isRoot && sections.contains("scaling") { emit(scaling.render()) }
        guard sections.contains("allreduce") else { return }

        var sizes = BenchTable(title: "Allreduce (mean, in place) vs message size, \(ranks) ranks",
                               header: ["floats", "MiB", "ms", "GB/s (size / time)"])
        for exponent in stride(from: 10, through: 22, by: 2) {
            let elements = 1 << exponent
            let seconds = try AllreduceBench.seconds(elements: elements, communicator: communicator, repeats: max(repeats, 9))
            sizes.add([String(elements), Format.fixed(Double(elements * 4) / 1_048_576, 3), Format.fixed(seconds * 1e3, 3),
                       Format.fixed(Double(elements * 4) / seconds / 1e9, 2)])
        }
        if communicator.isRoot { emit(sizes.render()) }
    }

    /// The memory row of sharded optimizer state (`optimizerState: sharded`): the optimizer's state (Adam's
    /// moments; L3RS's base-rule moments and statistics) on the largest rank, against the replicated state
    /// every rank holds otherwise. Bytes of the state tensors (`UpdateRule.stateBytes`), not resident memory.
    /// Beside it, the update's time in both modes (`ShardedUpdateBench`, alternated in the same run).
    func runShardedState(communicator: any Communicator) throws {
        guard sections.contains("state") else { return }
        var table = BenchTable(
            title: "Optimizer + L3RS state memory per rank, \(communicator.size) ranks: sharded against replicated (target at 2 ranks: <= 0.55x); the update's time (gradient mean over the ranks and the rule's step; medians of \(max(repeats, 9)) alternated, rank 0)",
            header: ["model", "optimizer", "replicated MiB", "sharded MiB (largest rank)", "sharded / replicated",
                     "replicated update ms", "sharded update ms", "time sharded / replicated"])
        for name in models {
            let model = try ModelZoo.make(named: name, seed: 1)
            for optimizer: TrainingOptimizer in [.adam, .l3rs] {
                var configuration = TrainingConfiguration()
                configuration.optimizer = optimizer
                var bench = try ShardedUpdateBench(model: model, configuration: configuration, communicator: communicator)
                let replicated = Double(bench.replicated.stateBytes)
                let sharded = try communicator.allreduce(Double(bench.sharded.rule.stateBytes), op: .max)
                let seconds = try bench.medians(warmup: 2, repeats: max(repeats, 9))
                table.add([name, optimizer.rawValue, Format.mebibytes(Int(replicated)), Format.mebibytes(Int(sharded)),
                           Format.ratio(sharded / replicated), Format.fixed(seconds.replicated * 1e3, 2),
                           Format.fixed(seconds.sharded * 1e3, 2), Format.ratio(seconds.sharded / seconds.replicated)])
            }
        }
        if communicator.isRoot { emit(table.render()) }
    }
}
