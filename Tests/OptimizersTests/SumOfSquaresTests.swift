import Optimizers
import Seeding
import XCTest

/// The sums of squares behind L3RS's rms(θ), rms(g) and direction normalisation and the gradient norm: the
/// same bits however a buffer is cut into aligned chunks, and precise on a million values.
final class SumOfSquaresTests: XCTestCase {
    func testChunkedSumIsCutIndependentAndPrecise() {
        let count = 1_000_003
        var generator = SplitMix64(seed: 21)
        // Magnitudes over six decades, so a plain Float sum would visibly lose the small terms.
        let values = (0..<count).map { _ in
            generator.uniform(halfWidth: 1) * Float(pow(10, Double(generator.uniform(below: 6)) - 3))
        }
        let exact = values.reduce(0.0) { $0 + Double($1) * Double($1) }
        values.withUnsafeBufferPointer { x in
            var whole = SumOfSquares()
            whole.add(x.baseAddress!, count: count)
            XCTAssertEqual(whole.total, exact, accuracy: 1e-6 * exact)
            for chunk in [SumOfSquares.chunkAlignment, 4 * SumOfSquares.chunkAlignment] {
                var chunked = SumOfSquares()
                for start in stride(from: 0, to: count, by: chunk) {
                    chunked.add(x.baseAddress! + start, count: min(chunk, count - start))
                }
                XCTAssertEqual(chunked.total, whole.total, "chunks of \(chunk)")
            }
            var reused = whole
            reused.reset()
            reused.add(x.baseAddress!, count: 5)
            XCTAssertEqual(reused.total, values.prefix(5).reduce(0.0) { $0 + Double($1) * Double($1) }, accuracy: 1e-12)
            XCTAssertEqual(reused.rms(count: 5), (reused.total / 5).squareRoot())
        }
    }
}
