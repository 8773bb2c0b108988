import Seeding

/// Inverted dropout: in training each element is kept with probability 1−p and scaled by 1/(1−p), so
/// inference is the identity. Masks come from the layer's own SplitMix64 stream, so a seed reproduces them;
/// `reseed` restarts the stream (the same seed gives the same sequence of masks).
public final class Dropout: StochasticLayer {
    public let probability: Float
    private var generator: SplitMix64

    private var mask: Tensor?
    private var output: Tensor?
    private var gradInput: Tensor?
    private var lastForwardWasTraining = false

    public init(probability: Float, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
        self.probability = probability
        generator = SplitMix64(seed: seed)
    }

    public func reseed(_ seed: UInt64) { generator = SplitMix64(seed: seed) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        lastForwardWasTraining = training && probability > 0
        guard lastForwardWasTraining else { return x }
        let m = Tensor.reusing(mask, shape: x.shape)
        mask = m
        let y = Tensor.reusing(output, shape: x.shape)
        output = y
        let keptScale = 1 / (1 - probability)
        let maskValues = m.storage, source = x.storage, target = y.storage
        for i in 0..<target.count {
            maskValues[i] = generator.nextUnitFloat() >= probability ? keptScale : 0
            target[i] = source[i] * maskValues[i]
        }
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard lastForwardWasTraining else { return gradOutput }
        guard let m = mask else { preconditionFailure("Dropout.backward before forward") }
        precondition(gradOutput.shape == m.shape, "Dropout.backward: gradient shape \(gradOutput.shape)")
        let dx = Tensor.reusing(gradInput, shape: m.shape)
        gradInput = dx
        let maskValues = m.storage, dy = gradOutput.storage, target = dx.storage
        for i in 0..<target.count { target[i] = dy[i] * maskValues[i] }
        return dx
    }
}
