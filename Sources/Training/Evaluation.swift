import Datasets
import Distributed
import Network

/// Loss and accuracy of a model on a dataset, each rank evaluating a contiguous shard; the sums are
/// allreduced, so every rank gets the same numbers whatever the number of ranks.
public enum Evaluation {
    public static func run(model: Model, dataset: Dataset, communicator: any Communicator,
                           batchSize: Int = 500) throws -> (loss: Double, accuracy: Double) {
        let total = dataset.count
        let per = total / communicator.size, extra = total % communicator.size
        let start = communicator.rank * per + min(communicator.rank, extra)
        let end = start + per + (communicator.rank < extra ? 1 : 0)
        var sums = [0.0, 0.0]
        var position = start
        let lossFunction = SoftmaxCrossEntropy()
        var input: Tensor?
        while position < end {
            let count = min(batchSize, end - position)
            let batch = dataset.gather(Array(position..<(position + count)))
            let tensor = Tensor.reusing(input, shape: [count] + model.inputShape)
            input = tensor
            batch.images.withUnsafeBufferPointer { tensor.storage.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
            let logits = model.forward(tensor, training: false)
            let labels = batch.labels.map { Int($0) }
            sums[0] += Double(lossFunction.loss(logits: logits, labels: labels)) * Double(count)
            sums[1] += Double(accuracy(logits: logits, labels: labels)) * Double(count)
            position += count
        }
        try communicator.allreduce(&sums, op: .sum)
        return (sums[0] / Double(total), sums[1] / Double(total))
    }
}
