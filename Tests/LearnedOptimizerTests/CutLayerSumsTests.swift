import Foundation
import Optimizers
import Seeding
import XCTest
@testable import LearnedOptimizer

/// A layer cut between shards: its sums measured in parts and handed on (`CutLayerSums`) are the sums of the
/// whole layer bit for bit. Values spread over 2^±30, so that the order of the Double additions shows: handing on
/// the later part as one sum instead of chunk by chunk gives other bits.
final class CutLayerSumsTests: XCTestCase {
    private let chunk = SumOfSquares.chunkAlignment

    /// θ, g and one direction of a layer of 40 chunks and 11 values, the dot ⟨g, d⟩ per chunk, as the first pass
    /// measures them.
    private func measure(_ range: Range<Int>, _ x: [Float], _ y: [Float], _ z: [Float], into sums: inout LayerSums) {
        for start in stride(from: range.lowerBound, to: range.upperBound, by: chunk) {
            let piece = start..<min(start + chunk, range.upperBound)
            x.withUnsafeBufferPointer { sums.parameters.add($0.baseAddress! + start, count: piece.count) }
            y.withUnsafeBufferPointer { sums.gradient.add($0.baseAddress! + start, count: piece.count) }
            z.withUnsafeBufferPointer { sums.directions[0].add($0.baseAddress! + start, count: piece.count) }
            y.withUnsafeBufferPointer { g in
                z.withUnsafeBufferPointer { d in
                    sums.gradientDirectionDots[0] += LayerStatistics.dot(g, d, piece)
                }
            }
        }
    }

    private func emptySums() -> LayerSums {
        var sums = LayerSums()
        sums.directions = [SumOfSquares()]
        sums.gradientDirectionDots = [0]
        return sums
    }

    private func totals(_ sums: LayerSums) -> [Double] {
        [sums.parameters.total, sums.gradient.total, sums.directions[0].total, sums.gradientDirectionDots[0]]
    }

    /// The sums handed on by three ranks: [0, 7 chunks) in one sum, [7, 30) and [30, end) chunk by chunk (or, with
    /// `wholeParts`, each part as one sum).
    private func handedOn(_ x: [Float], _ y: [Float], _ z: [Float], wholeParts: Bool) -> LayerSums {
        let n = x.count
        let parts = [0..<(7 * chunk), (7 * chunk)..<(30 * chunk), (30 * chunk)..<n]
        let buffers = parts.enumerated().map { rank, part -> [Double] in
            let pieces = rank == 0 || wholeParts
                ? [part] : stride(from: part.lowerBound, to: part.upperBound, by: chunk).map { $0..<min($0 + chunk, part.upperBound) }
            var buffer: [Double] = [4, Double(pieces.count)]
            for piece in pieces {
                var sums = emptySums()
                measure(piece, x, y, z, into: &sums)
                CutLayerSums.append(sums, to: &buffer)
            }
            // Another cut layer of this rank, which the replay of layer 4 must skip.
            var other = emptySums()
            measure(0..<(chunk + 5), x, y, z, into: &other)
            buffer += [9, 1]
            CutLayerSums.append(other, to: &buffer)
            return buffer
        }
        var sums = emptySums()
        CutLayerSums.replay(layer: 4, from: buffers, into: &sums)
        return sums
    }

    func testPartsHandedOnChunkByChunkAreTheWholeLayersSums() {
        var generator = SplitMix64(seed: 5)
        let n = 40 * chunk + 11
        func spread() -> [Float] {
            (0..<n).map { _ in generator.uniform(halfWidth: 1) * Float(pow(2, Double(generator.uniform(below: 61) - 30))) }
        }
        let (x, y, z) = (spread(), spread(), spread())
        var whole = emptySums()
        measure(0..<n, x, y, z, into: &whole)
        let handed = handedOn(x, y, z, wholeParts: false)
        XCTAssertEqual(totals(handed).map(\.bitPattern), totals(whole).map(\.bitPattern))
        // The test can tell: the same parts added in another order are other bits.
        let reordered = handedOn(x, y, z, wholeParts: true)
        XCTAssertNotEqual(totals(reordered).map(\.bitPattern), totals(whole).map(\.bitPattern))
    }

    func testASerialisedSumContinuesAnother() {
        let values: [Float] = (0..<(2 * chunk + 7)).map { Float($0 % 97) * 0.37 }
        var whole = SumOfSquares()
        values.withUnsafeBufferPointer { whole.add($0.baseAddress!, count: chunk); whole.add($0.baseAddress! + chunk, count: chunk + 7) }
        var first = SumOfSquares(), second = SumOfSquares()
        values.withUnsafeBufferPointer { first.add($0.baseAddress!, count: chunk); second.add($0.baseAddress! + chunk, count: chunk + 7) }
        var buffer: [Double] = []
        second.serialise(into: &buffer)
        XCTAssertEqual(buffer.count, second.serialisedLength)
        XCTAssertEqual(buffer.count, 32 + 1 + 7, "32 lanes, the tail's length, its 7 squares")
        let read = buffer.withUnsafeBufferPointer { first.append(serialised: $0) }
        XCTAssertEqual(read, buffer.count)
        XCTAssertEqual(first.total.bitPattern, whole.total.bitPattern)
    }
}
