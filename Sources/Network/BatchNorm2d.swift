import Kernels

/// Batch normalisation over (N, H, W) per channel, PyTorch's BatchNorm2d with affine scale/shift and
/// running statistics.
///
/// - Training: normalises with the batch mean and biased variance; updates
///   running_mean ← (1−m)·running_mean + m·mean and running_var ← (1−m)·running_var + m·var_unbiased
///   (m = momentum = 0.1, unbiased = biased·M/(M−1) with M = N·H·W), and counts num_batches_tracked.
/// - Inference: normalises with the running statistics; the layer is then an affine map per channel.
/// Registers `name.weight`, `name.bias` as parameters and `name.running_mean`, `name.running_var`,
/// `name.num_batches_tracked` as buffers, PyTorch's state_dict names.
public final class BatchNorm2d: Layer {
    public let channels: Int
    public let momentum: Float
    public let epsilon: Float
    public let scale: ParameterEntry
    public let shift: ParameterEntry
    public let runningMean: ParameterEntry
    public let runningVariance: ParameterEntry
    public let batchCount: ParameterEntry
    private let parameters: ParameterStore
    private let buffers: ParameterStore

    private var normalized: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    private var inverseStd: [Float]
    private var lastForwardWasTraining = false

    public var parameterEntries: [ParameterEntry] { [scale, shift] }

    public init(name: String, channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, registry: ParameterRegistry) {
        precondition(channels > 0)
        self.channels = channels
        self.momentum = momentum
        self.epsilon = epsilon
        parameters = registry.parameters
        buffers = registry.buffers
        scale = registry.parameters.register(name: name + ".weight", shape: [channels], kind: .normScale)
        shift = registry.parameters.register(name: name + ".bias", shape: [channels], kind: .normShift)
        runningMean = registry.buffers.register(name: name + ".running_mean", shape: [channels], kind: .runningMean)
        runningVariance = registry.buffers.register(name: name + ".running_var", shape: [channels], kind: .runningVariance)
        batchCount = registry.buffers.register(name: name + ".num_batches_tracked", shape: [], kind: .batchCount)
        inverseStd = [Float](repeating: 0, count: channels)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        // x: (N, C, H, W) → y: (N, C, H, W); xhat cached for backward.
        precondition(x.shape.count == 4 && x.shape[1] == channels, "BatchNorm2d expects (N, \(channels), H, W), got \(x.shape)")
        let batch = x.shape[0], planeSize = x.shape[2] * x.shape[3]
        let elementsPerChannel = batch * planeSize
        precondition(!training || elementsPerChannel > 1, "BatchNorm2d in training needs more than one value per channel")
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        let xhat = Tensor.reusing(normalized, shape: x.shape)
        normalized = xhat
        lastForwardWasTraining = training
        let gamma = parameters.values(of: scale), beta = parameters.values(of: shift)
        let meanBuffer = buffers.values(of: runningMean), varianceBuffer = buffers.values(of: runningVariance)
        for c in 0..<channels {
            var mean: Float, variance: Float
            if training {
                // Two passes in Double: the mean, then the biased variance around it.
                var total = 0.0
                for n in 0..<batch {
                    total += VectorOps.doubleSums(x.pointer + (n * channels + c) * planeSize, count: planeSize).sum
                }
                let batchMean = total / Double(elementsPerChannel)
                var squares = 0.0
                for n in 0..<batch {
                    squares += VectorOps.doubleSums(x.pointer + (n * channels + c) * planeSize, count: planeSize,
                                                    shift: batchMean).squares
                }
                mean = Float(batchMean)
                variance = Float(squares / Double(elementsPerChannel))
                let unbiased = Float(squares / Double(elementsPerChannel - 1))
                meanBuffer[c] = (1 - momentum) * meanBuffer[c] + momentum * mean
                varianceBuffer[c] = (1 - momentum) * varianceBuffer[c] + momentum * unbiased
            } else {
                mean = meanBuffer[c]
                variance = varianceBuffer[c]
            }
            let invStd = 1 / (variance + epsilon).squareRoot()
            inverseStd[c] = invStd
            let g = gamma[c], b = beta[c]
            for n in 0..<batch {
                let offset = (n * channels + c) * planeSize
                let source = x.pointer + offset, normalizedPlane = xhat.pointer + offset, target = y.pointer + offset
                for i in 0..<planeSize {
                    let h = (source[i] - mean) * invStd
                    normalizedPlane[i] = h
                    target[i] = g * h + b
                }
            }
        }
        if training { buffers.values(of: batchCount)[0] += 1 }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let xhat = normalized else { preconditionFailure("BatchNorm2d.backward before forward") }
        precondition(gradOutput.shape == xhat.shape, "BatchNorm2d.backward: gradient shape \(gradOutput.shape)")
        let batch = xhat.shape[0], planeSize = xhat.shape[2] * xhat.shape[3]
        let elementsPerChannel = Float(batch * planeSize)
        let dx = Tensor.reusing(gradInput, shape: xhat.shape)
        gradInput = dx
        let gamma = parameters.values(of: scale)
        let dGamma = parameters.gradients(of: scale), dBeta = parameters.gradients(of: shift)
        for c in 0..<channels {
            var sumDy = 0.0, sumDyXhat = 0.0
            for n in 0..<batch {
                let offset = (n * channels + c) * planeSize
                let sums = VectorOps.doubleSums(gradOutput.pointer + offset, count: planeSize, dot: xhat.pointer + offset)
                sumDy += sums.sum
                sumDyXhat += sums.dot
            }
            dGamma[c] += Float(sumDyXhat)
            dBeta[c] += Float(sumDy)
            let factor = gamma[c] * inverseStd[c]
            if lastForwardWasTraining {
                // dx = γ·invStd/M · (M·dy − Σdy − xhat·Σ(dy·xhat)): the batch statistics depend on x too.
                let meanDy = Float(sumDy) / elementsPerChannel, meanDyXhat = Float(sumDyXhat) / elementsPerChannel
                for n in 0..<batch {
                    let offset = (n * channels + c) * planeSize
                    let dy = gradOutput.pointer + offset, h = xhat.pointer + offset, target = dx.pointer + offset
                    for i in 0..<planeSize { target[i] = factor * (dy[i] - meanDy - h[i] * meanDyXhat) }
                }
            } else {
                // Running statistics are constants: dx = γ·invStd·dy.
                for n in 0..<batch {
                    let offset = (n * channels + c) * planeSize
                    let dy = gradOutput.pointer + offset, target = dx.pointer + offset
                    for i in 0..<planeSize { target[i] = factor * dy[i] }
                }
            }
        }
        return dx
    }
}
