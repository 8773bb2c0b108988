import Distributed
import XCTest
@testable import Training

/// `ShardedUpdateStep` on one process (one shard holding everything): the replicated step bit for bit, with
/// clipping (on one rank the norm's sum is the replicated one) and with L3RS, and its checkpoint the
/// replicated checkpoint; a sharded trainer resumes a replicated checkpoint. The 2-rank comparison is
/// ShardedOptimizerStateTests.
final class ShardedUpdateStepTests: XCTestCase {
    func testOneShardIsTheReplicatedStep() throws {
        let setups: [(String, (inout TrainingConfiguration) -> Void)] = [
            ("adamw, clipped", { $0.optimizer = .adamw; $0.weightDecay = 0.05; $0.clipNorm = 0.5 }),
            ("l3rs", { $0.optimizer = .l3rs }),
        ]
        for (name, setup) in setups {
            let replicated = try SmallTrainer.make(setup)
            let sharded = try SmallTrainer.make { setup(&$0); $0.optimizerState = .sharded }
            XCTAssertNotNil(sharded.shardedStep)
            for _ in 0..<3 {
                let a = try replicated.trainStep(), b = try sharded.trainStep()
                XCTAssertEqual(a.gradientNorm, b.gradientNorm, name)
                XCTAssertEqual(a.learningRate, b.learningRate, accuracy: 1e-12 * a.learningRate, name)
            }
            XCTAssertEqual(Array(replicated.model.parameters.values), Array(sharded.model.parameters.values), name)
            let a = try replicated.optimizerCheckpointContents(), b = try sharded.optimizerCheckpointContents()
            XCTAssertEqual(a.tensors, b.tensors, name)
            XCTAssertEqual(a.metadata, b.metadata, name)

            // A sharded trainer resumes the replicated state and takes the same next step.
            let resumed = try SmallTrainer.make { setup(&$0); $0.optimizerState = .sharded }
            _ = resumed.model.parameters.values.update(fromContentsOf: replicated.model.parameters.values)
            try resumed.restore(step: 3, state: .init(step: 3, worldSize: 1, modelName: "mlp", optimizerName: name,
                                                      optimizerTensors: a.tensors, optimizerMetadata: a.metadata))
            _ = try replicated.trainStep()
            _ = try resumed.trainStep()
            XCTAssertEqual(Array(replicated.model.parameters.values), Array(resumed.model.parameters.values), "\(name): resumed")
        }
    }
}
