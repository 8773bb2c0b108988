import Foundation

/// Softmax followed by cross-entropy against integer labels, mean over the batch (PyTorch's
/// `CrossEntropyLoss()` default). Numerically stable: each row is shifted by its maximum before `exp`, and
/// the log-sum-exp is accumulated in Double.
///
/// `loss` caches the softmax probabilities; `gradient()` then returns ∂loss/∂logits = (p − onehot(y)) / N,
/// in a tensor the object reuses while the batch shape is unchanged.
public final class SoftmaxCrossEntropy {
    private var probabilities: Tensor?
    private var labels: [Int] = []
    private var gradientTensor: Tensor?

    public init() {}

    /// Mean cross-entropy of `logits` (N, K) against `labels` (N values in 0..<K).
    public func loss(logits: Tensor, labels: [Int]) -> Float {
        precondition(logits.shape.count == 2 && logits.shape[0] == labels.count,
                     "SoftmaxCrossEntropy: logits \(logits.shape) vs \(labels.count) labels")
        let batch = logits.shape[0], classes = logits.shape[1]
        let p = Tensor.reusing(probabilities, shape: logits.shape)
        probabilities = p
        self.labels = labels
        var total = 0.0
        for n in 0..<batch {
            let label = labels[n]
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            let row = logits.pointer + n * classes, probabilityRow = p.pointer + n * classes
            var largest = row[0]
            for k in 1..<classes where row[k] > largest { largest = row[k] }
            var partition = 0.0
            for k in 0..<classes {
                let e = exp(row[k] - largest)
                probabilityRow[k] = e
                partition += Double(e)
            }
            let inversePartition = Float(1 / partition)
            for k in 0..<classes { probabilityRow[k] *= inversePartition }
            // −log softmax(row)[label] = log Σ exp(row − max) − (row[label] − max)
            total += log(partition) - Double(row[label] - largest)
        }
        return batch == 0 ? 0 : Float(total / Double(batch))
    }

    /// ∂(mean loss)/∂logits for the last `loss` call: (N, K).
    public func gradient() -> Tensor {
        guard let p = probabilities else { preconditionFailure("SoftmaxCrossEntropy.gradient before loss") }
        let batch = p.shape[0], classes = p.shape[1]
        let g = Tensor.reusing(gradientTensor, shape: p.shape)
        gradientTensor = g
        let inverseBatch = 1 / Float(max(batch, 1))
        for n in 0..<batch {
            let row = p.pointer + n * classes, target = g.pointer + n * classes
            for k in 0..<classes { target[k] = row[k] * inverseBatch }
            target[labels[n]] -= inverseBatch
        }
        return g
    }
}
