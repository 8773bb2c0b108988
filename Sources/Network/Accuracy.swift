import Kernels

/// Fraction of rows of `logits` (N, K) whose largest logit is at the label (ties go to the lowest index,
/// like `argmax`). 0 for an empty batch.
public func accuracy(logits: Tensor, labels: [Int]) -> Float {
    precondition(logits.shape.count == 2 && logits.shape[0] == labels.count, "accuracy: logits \(logits.shape) vs \(labels.count) labels")
    let batch = logits.shape[0], classes = logits.shape[1]
    guard batch > 0 else { return 0 }
    var correct = 0
    for n in 0..<batch {
        let row = UnsafeBufferPointer(start: logits.pointer + n * classes, count: classes)
        if VectorOps.indexOfMaximum(row) == labels[n] { correct += 1 }
    }
    return Float(correct) / Float(batch)
}
