import Distributed
import Network
import Training
import XCTest
@testable import Benchmarks

/// The state table's timing compares like with like: on one rank the replicated and the sharded update are the
/// same update, so after the timed rounds both copies of the parameters agree bit for bit (and they moved).
final class ShardedUpdateBenchTests: XCTestCase {
    func testBothModesTakeTheSameUpdate() throws {
        let model = try ModelZoo.make(named: "mlp", seed: 1)
        let start = Array(model.parameters.values)
        for optimizer: TrainingOptimizer in [.adam, .l3rs] {
            var configuration = TrainingConfiguration()
            configuration.optimizer = optimizer
            var bench = try ShardedUpdateBench(model: model, configuration: configuration,
                                               communicator: SingleProcessCommunicator())
            let seconds = try bench.medians(warmup: 1, repeats: 2)
            XCTAssertGreaterThan(seconds.replicated, 0)
            XCTAssertGreaterThan(seconds.sharded, 0)
            XCTAssertEqual(bench.replicatedParameters, bench.shardedParameters, "\(optimizer)")
            XCTAssertNotEqual(bench.replicatedParameters, start, "\(optimizer): the updates moved the parameters")
        }
    }
}
