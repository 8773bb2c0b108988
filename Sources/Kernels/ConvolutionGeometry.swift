/// The shape arithmetic of one 2-D convolution (or pooling window) over a single image, shared by
/// im2col/col2im and the Conv2d layer so the two can never disagree.
public struct ConvolutionGeometry: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int

    public init(
        channels: Int, height: Int, width: Int,
        kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0
    ) {
        precondition(channels > 0 && height > 0 && width > 0, "image dimensions must be positive")
        precondition(kernelHeight > 0 && kernelWidth > 0 && stride > 0 && padding >= 0, "bad window")
        precondition(height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth,
                     "kernel larger than the padded image")
        self.channels = channels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    /// Output rows, PyTorch's floor((H + 2p − kh) / s) + 1.
    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Output columns, PyTorch's floor((W + 2p − kw) / s) + 1.
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the im2col matrix: one per (channel, kernel row, kernel column).
    public var columnRows: Int { channels * kernelHeight * kernelWidth }
    /// Columns of the im2col matrix: one per output position.
    public var columnCount: Int { outputHeight * outputWidth }
    /// Scalars in one input image.
    public var imageSize: Int { channels * height * width }
}
