import XCTest
@testable import Kernels

final class Im2ColTests: XCTestCase {
    private func columnsByDefinition(_ image: [Float], _ g: ConvolutionGeometry) -> [Float] {
        var columns = [Float](repeating: 0, count: g.columnRows * g.columnCount)
        for c in 0..<g.channels {
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let row = (c * g.kernelHeight + i) * g.kernelWidth + j
                    for oy in 0..<g.outputHeight {
                        for ox in 0..<g.outputWidth {
                            let y = oy * g.stride - g.padding + i, x = ox * g.stride - g.padding + j
                            let inside = y >= 0 && y < g.height && x >= 0 && x < g.width
                            columns[row * g.columnCount + oy * g.outputWidth + ox] =
                                inside ? image[(c * g.height + y) * g.width + x] : 0
                        }
                    }
                }
            }
        }
        return columns
    }

    private let geometries = [
        ConvolutionGeometry(channels: 2, height: 5, width: 4, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1),
        ConvolutionGeometry(channels: 1, height: 6, width: 7, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 1),
        ConvolutionGeometry(channels: 3, height: 4, width: 4, kernelHeight: 1, kernelWidth: 1, stride: 2, padding: 0),
        ConvolutionGeometry(channels: 1, height: 3, width: 3, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 2),
        ConvolutionGeometry(channels: 2, height: 7, width: 5, kernelHeight: 5, kernelWidth: 3, stride: 3, padding: 2),
    ]

    func testOutputSizesFollowPyTorch() {
        let g = ConvolutionGeometry(channels: 1, height: 28, width: 28, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        XCTAssertEqual(g.outputHeight, 28)
        let strided = ConvolutionGeometry(channels: 1, height: 7, width: 8, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1)
        XCTAssertEqual(strided.outputHeight, 4)
        XCTAssertEqual(strided.outputWidth, 4)
    }

    func testExpandMatchesDefinition() {
        for g in geometries {
            let image = (0..<g.imageSize).map { Float($0) + 1 }
            var columns = [Float](repeating: .nan, count: g.columnRows * g.columnCount)
            image.withUnsafeBufferPointer { source in
                columns.withUnsafeMutableBufferPointer { target in
                    Im2Col.expand(image: source.baseAddress!, into: target.baseAddress!, geometry: g)
                }
            }
            XCTAssertEqual(columns, columnsByDefinition(image, g), "\(g)")
        }
    }

    /// col2im must be the exact adjoint of im2col: <im2col(x), c> == <x, col2im(c)>.
    func testAccumulateIsAdjointOfExpand() {
        for g in geometries {
            let image = (0..<g.imageSize).map { Float(($0 * 7) % 11) - 5 }
            let columns = (0..<(g.columnRows * g.columnCount)).map { Float(($0 * 5) % 13) - 6 }
            let expanded = columnsByDefinition(image, g)
            var folded = [Float](repeating: 0, count: g.imageSize)
            columns.withUnsafeBufferPointer { source in
                folded.withUnsafeMutableBufferPointer { target in
                    Im2Col.accumulate(columns: source.baseAddress!, into: target.baseAddress!, geometry: g)
                }
            }
            let left = zip(expanded, columns).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            let right = zip(image, folded).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            XCTAssertEqual(left, right, accuracy: 1e-6, "\(g)")
        }
    }
}
