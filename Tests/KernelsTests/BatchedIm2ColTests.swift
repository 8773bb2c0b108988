import XCTest
@testable import Kernels

/// The batched layout Conv2d uses: every image's im2col block written side by side into one
/// (C·kh·kw, N·P) matrix through `rowStride`, and col2im reading it back the same way, must equal the
/// per-image dense reference exactly.
final class BatchedIm2ColTests: XCTestCase {
    private let geometries = [
        ConvolutionGeometry(channels: 2, height: 5, width: 4, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1),
        ConvolutionGeometry(channels: 1, height: 6, width: 7, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1),
        ConvolutionGeometry(channels: 3, height: 4, width: 4, kernelHeight: 1, kernelWidth: 1, stride: 2, padding: 0),
        ConvolutionGeometry(channels: 2, height: 7, width: 5, kernelHeight: 5, kernelWidth: 3, stride: 3, padding: 2),
    ]

    /// Runs `kernel` once per image n of a batch, on `source` from element n·`sourceStride` and `target` from
    /// element n·`targetStride`: how Conv2d hands each image's block to the batched kernels.
    private func forEachImage(of batch: Int, in source: [Float], stride sourceStride: Int, into target: inout [Float],
                              stride targetStride: Int, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        source.withUnsafeBufferPointer { source in
            target.withUnsafeMutableBufferPointer { target in
                for n in 0..<batch { kernel(source.baseAddress! + n * sourceStride, target.baseAddress! + n * targetStride) }
            }
        }
    }

    func testBatchedExpandEqualsPerImageBlocks() {
        let batch = 3
        for g in geometries {
            let images = (0..<(batch * g.imageSize)).map { Float(($0 * 13) % 17) - 8 }
            let span = batch * g.columnCount
            var batched = [Float](repeating: .nan, count: g.columnRows * span)
            var single = [Float](repeating: .nan, count: g.columnRows * g.columnCount)
            forEachImage(of: batch, in: images, stride: g.imageSize, into: &batched, stride: g.columnCount) {
                Im2Col.expand(image: $0, into: $1, geometry: g, rowStride: span)
            }
            images.withUnsafeBufferPointer { source in
                for n in 0..<batch {
                    single.withUnsafeMutableBufferPointer { target in
                        Im2Col.expand(image: source.baseAddress! + n * g.imageSize, into: target.baseAddress!, geometry: g)
                    }
                    for row in 0..<g.columnRows {
                        let expected = single[(row * g.columnCount)..<((row + 1) * g.columnCount)]
                        let got = batched[(row * span + n * g.columnCount)..<(row * span + (n + 1) * g.columnCount)]
                        XCTAssertEqual(Array(got), Array(expected), "\(g) image \(n) row \(row)")
                    }
                }
            }
        }
    }

    func testBatchedAccumulateEqualsPerImageReference() {
        let batch = 3
        for g in geometries {
            let span = batch * g.columnCount
            let columns = (0..<(g.columnRows * span)).map { Float(($0 * 7) % 11) - 5 }
            var batched = [Float](repeating: 1, count: batch * g.imageSize)
            var reference = batched
            forEachImage(of: batch, in: columns, stride: g.columnCount, into: &batched, stride: g.imageSize) {
                Im2Col.accumulate(columns: $0, into: $1, geometry: g, rowStride: span)
            }
            for n in 0..<batch {
                // The dense per-image block of image n, then the original dense col2im.
                var block = [Float](repeating: 0, count: g.columnRows * g.columnCount)
                for row in 0..<g.columnRows {
                    for p in 0..<g.columnCount { block[row * g.columnCount + p] = columns[row * span + n * g.columnCount + p] }
                }
                block.withUnsafeBufferPointer { source in
                    reference.withUnsafeMutableBufferPointer { target in
                        Im2Col.accumulate(columns: source.baseAddress!, into: target.baseAddress! + n * g.imageSize, geometry: g)
                    }
                }
            }
            XCTAssertEqual(batched, reference, "\(g)")
        }
    }

    func testBatchTransposeRoundTripsAndAddsBias() {
        let channels = 3, batch = 2, positions = 5
        let imageMajor = (0..<(batch * channels * positions)).map(Float.init)
        var channelMajor = [Float](repeating: .nan, count: imageMajor.count)
        var back = [Float](repeating: .nan, count: imageMajor.count)
        let bias: [Float] = [100, 200, 300]
        imageMajor.withUnsafeBufferPointer { source in
            channelMajor.withUnsafeMutableBufferPointer { target in
                BatchTranspose.imageMajorToChannelMajor(source.baseAddress!, into: target.baseAddress!,
                                                        channels: channels, batch: batch, positions: positions)
            }
        }
        // (c, n, p) of the channel-major matrix holds element (n, c, p).
        for c in 0..<channels {
            for n in 0..<batch {
                for p in 0..<positions {
                    XCTAssertEqual(channelMajor[(c * batch + n) * positions + p], imageMajor[(n * channels + c) * positions + p])
                }
            }
        }
        channelMajor.withUnsafeBufferPointer { source in
            back.withUnsafeMutableBufferPointer { target in
                bias.withUnsafeBufferPointer { b in
                    BatchTranspose.channelMajorToImageMajor(source.baseAddress!, into: target.baseAddress!, channels: channels,
                                                            batch: batch, positions: positions, bias: b.baseAddress!)
                }
            }
        }
        for n in 0..<batch {
            for c in 0..<channels {
                for p in 0..<positions {
                    let i = (n * channels + c) * positions + p
                    XCTAssertEqual(back[i], imageMajor[i] + bias[c])
                }
            }
        }
    }
}
