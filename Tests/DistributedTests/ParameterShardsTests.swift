import XCTest
@testable import Distributed

/// The cut of a layer table into ranks' shards: consecutive, balanced by elements, cut inside a layer only at a
/// multiple of the alignment from its start, every rank some elements; which layers each rank touches and owns.
final class ParameterShardsTests: XCTestCase {
    private func table(_ counts: [Int]) -> [(offset: Int, count: Int)] {
        var offset = 0
        return counts.map { count in defer { offset += count }; return (offset, count) }
    }

    func testShardsAreBalancedAndCutLayersAtAlignedPoints() throws {
        // A net shaped like a CNN: small early layers, a large one near the end.
        let counts = [800, 32, 18_432, 64, 73_728, 128, 294_912, 256, 5_120, 10]
        let two = try ParameterShards(layers: table(counts), ranks: 2, alignment: 2048)
        // Half is 196,741, inside layer 6 (from 93,184): 103,557 in; the aligned points 102,400 and 104,448 in
        // lie 1,157 below and 891 above, so the cut is at 93,184 + 104,448.
        XCTAssertEqual(two.elementRanges, [0..<197_632, 197_632..<393_482])
        XCTAssertEqual(two.layerRanges, [0..<7, 6..<10], "layer 6 is cut: both ranks touch it")
        XCTAssertEqual(two.ownedLayerRanges, [0..<7, 7..<10])
        XCTAssertEqual(two.cutLayers, [6])
        // With whole layers the best cut (at 93,184 or 388,096) held 0.76 of the elements on one rank.
        XCTAssertLessThan(Double(two.counts.max()!) / 393_482, 0.503)
        let even = try ParameterShards(layers: table([10, 10, 10, 10]), ranks: 2, alignment: 2048)
        XCTAssertEqual(even.counts, [20, 20], "no aligned point inside the small layers: a layer boundary")
        XCTAssertEqual(even.layerRanges, [0..<2, 2..<4])
        XCTAssertEqual(even.ownedLayerRanges, [0..<2, 2..<4])
        XCTAssertEqual(even.cutLayers, [])
        let three = try ParameterShards(layers: table([10, 10, 10, 10, 10, 10]), ranks: 3, alignment: 1)
        XCTAssertEqual(three.counts, [20, 20, 20])
        // One huge first layer over three ranks: the middle rank lies inside it and owns no layer's start.
        let lopsided = try ParameterShards(layers: table([6144, 10, 10]), ranks: 3, alignment: 2048)
        XCTAssertEqual(lopsided.elementRanges, [0..<2048, 2048..<4096, 4096..<6164])
        XCTAssertEqual(lopsided.layerRanges, [0..<1, 0..<1, 0..<3])
        XCTAssertEqual(lopsided.ownedLayerRanges, [0..<1, 1..<1, 1..<3])
        XCTAssertEqual(lopsided.cutLayers, [0], "both boundaries cut layer 0")
        let one = try ParameterShards(layers: table(counts), ranks: 1, alignment: 2048)
        XCTAssertEqual(one.elementRanges, [0..<393_482])
        XCTAssertEqual(one.layerRanges, [0..<10])
        XCTAssertEqual(one.ownedLayerRanges, [0..<10])
    }

    func testElementCutIsEqualWhateverTheLayers() throws {
        let shards = try ParameterShards(elementCount: 10, ranks: 3)
        XCTAssertEqual(shards.elementRanges, [0..<4, 4..<7, 7..<10])
        XCTAssertNil(shards.layerRanges)
        XCTAssertNil(shards.ownedLayerRanges)
        XCTAssertEqual(shards.cutLayers, [])
        XCTAssertThrowsError(try ParameterShards(elementCount: 1, ranks: 2))
    }

    func testTooFewAlignedPointsOrAGapIsAnError() {
        // One layer of 5 has no point inside it at a multiple of 2048: rank 1 would get nothing.
        XCTAssertThrowsError(try ParameterShards(layers: table([5]), ranks: 2, alignment: 2048)) { error in
            XCTAssertTrue(String(describing: error).contains("cannot give each of 2 ranks a part"), "\(error)")
        }
        XCTAssertThrowsError(try ParameterShards(layers: [(0, 5), (6, 5)], ranks: 2, alignment: 1))
    }
}
