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
///
/// `mode` (see `BatchNormMode`) chooses what training mode means: batch statistics of this rank (`local`),
/// of the global batch summed by `statisticsReducer` (`sync`, PyTorch's SyncBatchNorm), or the running
/// statistics (`frozen`). Both batch-statistics modes take the same two passes in Double (sums, then squares
/// around the mean), so `sync` on one rank, or without a reducer, is exactly `local`.
///
/// Every pass runs channel by channel on `WorkerPool.shared`; a channel's sums keep their serial order, so the
/// results do not depend on the thread count.
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
    /// Whether the last forward normalised with batch statistics (then backward differentiates them).
    private var lastForwardWasTraining = false
    /// Values per channel of the last forward's batch statistics, over every rank in `sync` mode.
    private var statisticsCount = 0.0
    /// Per-channel Double sums (the reducer's buffer): C sums and the count, C squares, or 2C backward sums.
    private var channelSums: [Double] = []

    public var mode: BatchNormMode = .local
    /// Sums the statistics over ranks in `sync` mode; nil (one rank) normalises with this rank's batch.
    public var statisticsReducer: (any BatchStatisticsReducer)?

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
        let batchStatistics = training && mode != .frozen
        let batch = x.shape[0], planeSize = x.shape[2] * x.shape[3]
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        let xhat = Tensor.reusing(normalized, shape: x.shape)
        normalized = xhat
        lastForwardWasTraining = batchStatistics
        let gamma = parameters.values(of: scale), beta = parameters.values(of: shift)
        let meanBuffer = buffers.values(of: runningMean), varianceBuffer = buffers.values(of: runningVariance)
        var means = [Float](repeating: 0, count: channels), variances = [Float](repeating: 0, count: channels)
        if batchStatistics {
            let (batchMeans, biased, unbiased) = batchMoments(x)
            for c in 0..<channels {
                means[c] = batchMeans[c]
                variances[c] = biased[c]
                meanBuffer[c] = (1 - momentum) * meanBuffer[c] + momentum * batchMeans[c]
                varianceBuffer[c] = (1 - momentum) * varianceBuffer[c] + momentum * unbiased[c]
            }
            buffers.values(of: batchCount)[0] += 1
        } else {
            for c in 0..<channels {
                means[c] = meanBuffer[c]
                variances[c] = varianceBuffer[c]
            }
        }
        for c in 0..<channels { inverseStd[c] = 1 / (variances[c] + epsilon).squareRoot() }
        let inverse = inverseStd, channels = channels
        WorkerPool.shared.run(tasks: channels) { c, _ in
            let mean = means[c], invStd = inverse[c]
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
        return y
    }

    /// Per-channel batch mean, biased and unbiased variance, in two passes in Double: the mean, then the squares
    /// around it. In `sync` mode each pass's sums (and the count) are summed over the ranks before use.
    private func batchMoments(_ x: Tensor) -> (mean: [Float], biased: [Float], unbiased: [Float]) {
        let batch = x.shape[0], planeSize = x.shape[2] * x.shape[3]
        let reducer = mode == .sync ? statisticsReducer : nil
        let channels = channels, pool = WorkerPool.shared
        channelSums = [Double](repeating: 0, count: channels + 1)
        channelSums.withUnsafeMutableBufferPointer { sums in
            pool.run(tasks: channels) { c, _ in
                for n in 0..<batch {
                    sums[c] += VectorOps.doubleSums(x.pointer + (n * channels + c) * planeSize, count: planeSize).sum
                }
            }
        }
        channelSums[channels] = Double(batch * planeSize)
        if let reducer { channelSums.withUnsafeMutableBufferPointer { reducer.sumAcrossRanks($0) } }
        let count = channelSums[channels]
        precondition(count > 1, "BatchNorm2d in training needs more than one value per channel")
        statisticsCount = count
        let batchMeans = (0..<channels).map { channelSums[$0] / count }
        channelSums = [Double](repeating: 0, count: channels)
        channelSums.withUnsafeMutableBufferPointer { sums in
            pool.run(tasks: channels) { c, _ in
                for n in 0..<batch {
                    sums[c] += VectorOps.doubleSums(x.pointer + (n * channels + c) * planeSize, count: planeSize,
                                                    shift: batchMeans[c]).squares
                }
            }
        }
        if let reducer { channelSums.withUnsafeMutableBufferPointer { reducer.sumAcrossRanks($0) } }
        return (batchMeans.map { Float($0) }, channelSums.map { Float($0 / count) }, channelSums.map { Float($0 / (count - 1)) })
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let xhat = normalized else { preconditionFailure("BatchNorm2d.backward before forward") }
        precondition(gradOutput.shape == xhat.shape, "BatchNorm2d.backward: gradient shape \(gradOutput.shape)")
        let batch = xhat.shape[0], planeSize = xhat.shape[2] * xhat.shape[3]
        let dx = Tensor.reusing(gradInput, shape: xhat.shape)
        gradInput = dx
        let gamma = parameters.values(of: scale)
        let dGamma = parameters.gradients(of: scale), dBeta = parameters.gradients(of: shift)
        // Σdy and Σ(dy·xhat) per channel over this rank's slice: they are the shift's and scale's gradients.
        let channels = channels, pool = WorkerPool.shared
        channelSums = [Double](repeating: 0, count: 2 * channels)
        channelSums.withUnsafeMutableBufferPointer { channelSums in
            pool.run(tasks: channels) { c, _ in
                for n in 0..<batch {
                    let offset = (n * channels + c) * planeSize
                    let sums = VectorOps.doubleSums(gradOutput.pointer + offset, count: planeSize, dot: xhat.pointer + offset)
                    channelSums[c] += sums.sum
                    channelSums[channels + c] += sums.dot
                }
                dGamma[c] += Float(channelSums[channels + c])
                dBeta[c] += Float(channelSums[c])
            }
        }
        // The input gradient needs them over the whole batch the statistics came from.
        if lastForwardWasTraining, mode == .sync, let reducer = statisticsReducer {
            channelSums.withUnsafeMutableBufferPointer { reducer.sumAcrossRanks($0) }
        }
        let elementsPerChannel = Float(statisticsCount), sums = channelSums, inverse = inverseStd
        let training = lastForwardWasTraining
        pool.run(tasks: channels) { c, _ in
            let factor = gamma[c] * inverse[c]
            if training {
                // dx = γ·invStd/M · (M·dy − Σdy − xhat·Σ(dy·xhat)): the batch statistics depend on x too.
                let meanDy = Float(sums[c]) / elementsPerChannel
                let meanDyXhat = Float(sums[channels + c]) / elementsPerChannel
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
