import Distributed
import LearnedOptimizer
import Network

/// One measurement that needs a process of its own because peak resident memory only grows: fine-tuning
/// steps or meta-training iterations on one backbone. `l3rs bench` runs each as `l3rs bench --case SPEC` and
/// reads the one result line back.
///
/// SPEC is `finetune:MODEL` or `meta:MODEL:MODE` where MODEL is a zoo name or `resnet16-wWIDTH` (a small
/// ResNet on 3×16×16 inputs, for the backbone-size sweep) and MODE is `store` or `recompute`.
public struct MemoryCase: Sendable {
    public let spec: String
    public let batch: Int
    public let truncationLength: Int

    public init(spec: String, batch: Int, truncationLength: Int) {
        self.spec = spec
        self.batch = batch
        self.truncationLength = truncationLength
    }

    /// The result line's prefix.
    public static let marker = "BENCH-CASE"

    /// Builds a model by name, including the sweep's `resnet16-wWIDTH`.
    public static func makeModel(_ name: String) throws -> Model {
        if name.hasPrefix("resnet16-w"), let width = Int(name.dropFirst("resnet16-w".count)), width > 0 {
            return ModelZoo.resnet(inputShape: [3, 16, 16], blocksPerStage: [1, 1, 1], baseWidth: width, classCount: 10, seed: 1)
        }
        return try ModelZoo.make(named: name, seed: 1)
    }

    /// Runs the case and returns `marker seconds peakBytes parameterCount` (seconds: median per step or
    /// per meta-iteration).
    public func run(repeats: Int) throws -> String {
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count >= 2 else { throw BenchError.badCase(spec) }
        let model = try Self.makeModel(parts[1])
        let seconds: Double
        switch (parts[0], parts.count) {
        case ("finetune", 2):
            let bench = try TrainingStepBench(model: model, batch: batch, communicator: SingleProcessCommunicator(), overlap: false)
            seconds = try bench.measure(warmup: 1, repeats: repeats).step
        case ("meta", 3):
            let memory: UnrollMemory
            switch parts[2] {
            case "store": memory = .storeAll
            // √T segments of √T steps: the memory-optimal split (√T snapshots plus one segment's records).
            case "recompute": memory = .recompute(segmentLength: max(1, Int(Double(truncationLength).squareRoot())))
            default: throw BenchError.badCase(spec)
            }
            var bench = try MetaTrainingBench(model: model, batch: batch, truncationLength: truncationLength)
            seconds = bench.metaIteration(memory: memory, warmup: 1, repeats: repeats)
        default:
            throw BenchError.badCase(spec)
        }
        return "\(Self.marker) \(seconds) \(ResidentMemory.peakBytes) \(model.parameterCount)"
    }

    /// Parses a result line: (seconds, peak bytes, parameter count).
    public static func parse(_ output: String) -> (seconds: Double, peakBytes: Int, parameters: Int)? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix(marker) }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count == 4, let seconds = Double(fields[1]), let bytes = Int(fields[2]), let count = Int(fields[3]) else {
            return nil
        }
        return (seconds, bytes, count)
    }
}

/// Errors of the benchmark driver.
public enum BenchError: Error, CustomStringConvertible {
    case badCase(String)
    case childFailed(String)
    case badBatchFile(String)

    public var description: String {
        switch self {
        case let .badCase(spec): return "bad benchmark case '\(spec)'; expected finetune:MODEL or meta:MODEL:store|recompute"
        case let .childFailed(text): return "benchmark child process failed: \(text)"
        case let .badBatchFile(text): return "bad batch file: \(text)"
        }
    }
}
