import TestSupport
import XCTest
@testable import Datasets

final class GlobalBatchSamplerTests: XCTestCase {
    func testUnionOverRanksIsTheGlobalBatch() throws {
        let sampler = try GlobalBatchSampler(sampleCount: 1_003, globalBatchSize: 64, seed: 11)
        XCTAssertEqual(sampler.stepsPerEpoch, 15)
        for epoch in 0..<2 {
            let order = sampler.epochOrder(epoch: epoch)
            XCTAssertEqual(Set(order).count, 1_003)
            for step in [0, 7, 14] {
                let global = sampler.globalBatch(epoch: epoch, step: step)
                XCTAssertEqual(global.count, 64)
                for worldSize in [1, 2, 3, 5, 7, 64] {
                    try sampler.validate(worldSize: worldSize)
                    let slices = (0..<worldSize).map { sampler.localBatch(epoch: epoch, step: step, rank: $0, worldSize: worldSize, order: order) }
                    XCTAssertEqual(slices.flatMap { $0 }, global, "ranks \(worldSize)")
                    let sizes = slices.map(\.count)
                    XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
                    XCTAssertEqual(sizes, sizes.sorted(by: >), "earlier ranks take the extra samples")
                    let weights = (0..<worldSize).map { sampler.sliceWeight(rank: $0, worldSize: worldSize) }
                    XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-12)
                }
            }
        }
    }

    func testBatchesDependOnlyOnSeedEpochStep() throws {
        let a = try GlobalBatchSampler(sampleCount: 500, globalBatchSize: 32, seed: 3)
        let b = try GlobalBatchSampler(sampleCount: 500, globalBatchSize: 32, seed: 3)
        XCTAssertEqual(a.globalBatch(epoch: 2, step: 5), b.globalBatch(epoch: 2, step: 5))
        XCTAssertNotEqual(a.globalBatch(epoch: 2, step: 5), a.globalBatch(epoch: 3, step: 5))
        let c = try GlobalBatchSampler(sampleCount: 500, globalBatchSize: 32, seed: 4)
        XCTAssertNotEqual(a.globalBatch(epoch: 0, step: 0), c.globalBatch(epoch: 0, step: 0))
        // An epoch's batches do not repeat samples.
        let epoch = (0..<a.stepsPerEpoch).flatMap { a.globalBatch(epoch: 0, step: $0) }
        XCTAssertEqual(Set(epoch).count, epoch.count)
    }

    func testInvalidConfigurationsAreRejected() throws {
        assertError(try GlobalBatchSampler(sampleCount: 10, globalBatchSize: 0, seed: 0), mentions: ["must be positive"])
        assertError(try GlobalBatchSampler(sampleCount: 10, globalBatchSize: 11, seed: 0), mentions: ["exceeds the 10 samples"])
        let sampler = try GlobalBatchSampler(sampleCount: 10, globalBatchSize: 4, seed: 0)
        assertError(try sampler.validate(worldSize: 5), mentions: ["5 ranks"])
    }
}
