import LearnedOptimizer
import Network

/// An `InnerProblem` over a real model on fixed synthetic batches (one training batch per step, cycling
/// through `trainingBatches`, and one validation batch): what a meta-training iteration costs on that
/// backbone, without reading any data. Single rank: the gradients are the local ones.
public final class ModelInnerProblem: InnerProblem {
    public let model: Model
    private let trainingBatches: [SyntheticBatch]
    private let validationBatch: SyntheticBatch
    private let loss = SoftmaxCrossEntropy()

    public init(model: Model, batch: Int, distinctTrainingBatches: Int = 2, seed: UInt64 = 11) {
        self.model = model
        trainingBatches = (0..<max(1, distinctTrainingBatches)).map {
            SyntheticBatch(model: model, batch: batch, seed: seed &+ UInt64($0))
        }
        validationBatch = SyntheticBatch(model: model, batch: batch, seed: seed &+ 1000)
    }

    /// The layer table L3RS sees: one slice per trainable tensor, depth by table position.
    public var layerSlices: [LayerSlice] {
        let entries = model.parameters.entries
        let last = Float(max(1, entries.count - 1))
        return entries.enumerated().map { index, entry in
            LayerSlice(name: entry.name, offset: entry.offset, count: entry.count, kind: Self.kind(entry.kind),
                       relativeDepth: Float(index) / last)
        }
    }

    static func kind(_ kind: ParameterKind) -> LayerKind {
        switch kind {
        case .convWeight: return .convWeight
        case .linearWeight: return .linearWeight
        case .normScale: return .normScale
        case .normShift: return .normShift
        case .bias, .runningMean, .runningVariance, .batchCount: return .bias
        }
    }

    public func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        evaluate(parameters: parameters, batch: trainingBatches[step % trainingBatches.count], gradient: gradient)
    }

    public func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        evaluate(parameters: parameters, batch: validationBatch, gradient: gradient)
    }

    /// Loss and gradient at `parameters`. Evaluation mode (BatchNorm on running statistics, no dropout)
    /// keeps the calls deterministic, as the recompute memory mode requires.
    private func evaluate(parameters: UnsafeBufferPointer<Float>, batch: SyntheticBatch,
                          gradient: UnsafeMutableBufferPointer<Float>) -> Float {
        let store = model.parameters
        store.values.baseAddress!.update(from: parameters.baseAddress!, count: parameters.count)
        store.zeroGradients()
        let logits = model.forward(batch.input, training: false)
        let value = loss.loss(logits: logits, labels: batch.labels)
        model.backward(loss.gradient())
        gradient.baseAddress!.update(from: store.gradients.baseAddress!, count: gradient.count)
        return value
    }
}
