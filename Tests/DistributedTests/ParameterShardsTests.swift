import XCTest
@testable import Distributed

/// The cut of a layer table into ranks' shards: whole layers, consecutive, balanced, every rank some.
final class ParameterShardsTests: XCTestCase {
    private func table(_ counts: [Int]) -> [(offset: Int, count: Int)] {
        var offset = 0
        return counts.map { count in defer { offset += count }; return (offset, count) }
    }

    func testShardsAreConsecutiveWholeLayersBalancedByElements() throws {
        // A net shaped like a CNN: small early layers, a large one near the end.
        let counts = [800, 32, 18_432, 64, 73_728, 128, 294_912, 256, 5_120, 10]
        let two = try ParameterShards(layers: table(counts), ranks: 2)
        XCTAssertEqual(two.layerRanges, [0..<6, 6..<10])
        XCTAssertEqual(two.elementRanges, [0..<93_184, 93_184..<393_482])
        let even = try ParameterShards(layers: table([10, 10, 10, 10]), ranks: 2)
        XCTAssertEqual(even.counts, [20, 20])
        let three = try ParameterShards(layers: table([10, 10, 10, 10, 10, 10]), ranks: 3)
        XCTAssertEqual(three.counts, [20, 20, 20])
        // One huge first layer: the boundary nearest the half leaves the others to rank 1, never nothing.
        let lopsided = try ParameterShards(layers: table([1000, 1, 1]), ranks: 3)
        XCTAssertEqual(lopsided.layerRanges, [0..<1, 1..<2, 2..<3])
        let one = try ParameterShards(layers: table(counts), ranks: 1)
        XCTAssertEqual(one.elementRanges, [0..<393_482])
    }

    func testElementCutIsEqualWhateverTheLayers() throws {
        let shards = try ParameterShards(elementCount: 10, ranks: 3)
        XCTAssertEqual(shards.elementRanges, [0..<4, 4..<7, 7..<10])
        XCTAssertNil(shards.layerRanges)
        XCTAssertThrowsError(try ParameterShards(elementCount: 1, ranks: 2))
    }

    func testTooFewLayersOrAGapIsAnError() {
        XCTAssertThrowsError(try ParameterShards(layers: table([5]), ranks: 2)) { error in
            XCTAssertTrue(String(describing: error).contains("1 layer(s) cannot be shared by 2 ranks"), "\(error)")
        }
        XCTAssertThrowsError(try ParameterShards(layers: [(0, 5), (6, 5)], ranks: 2))
    }
}
