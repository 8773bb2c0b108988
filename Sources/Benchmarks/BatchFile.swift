import Foundation
import Network

/// Real batches written by `benchmarks/torch_reference.py` for the comparison with PyTorch, so that both sides
/// step on the same images: K batches of float32 inputs, (K, batch, C, H, W) little-endian, then their K·batch
/// labels as float32. K follows from the file's size.
public enum BatchFile {
    public static func read(path: String, batch: Int, inputShape: [Int], classCount: Int) throws -> [SyntheticBatch] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let imageFloats = inputShape.reduce(1, *)
        let perBatch = batch * (imageFloats + 1)
        let floats = data.count / 4
        guard data.count % 4 == 0, floats >= perBatch, floats % perBatch == 0 else {
            throw BenchError.badBatchFile("\(path): \(data.count) bytes is not a whole number of batches of \(batch) × \(inputShape) float32 inputs plus labels")
        }
        let count = floats / perBatch
        return try data.withUnsafeBytes { raw in
            let values = raw.bindMemory(to: Float.self)
            return try (0..<count).map { k in
                let input = Tensor(shape: [batch] + inputShape)
                let start = k * batch * imageFloats
                for i in 0..<input.count { input[i] = Float(bitPattern: UInt32(littleEndian: values[start + i].bitPattern)) }
                let labels = try (0..<batch).map { n in
                    let value = Float(bitPattern: UInt32(littleEndian: values[count * batch * imageFloats + k * batch + n].bitPattern))
                    guard let label = Int(exactly: value), (0..<classCount).contains(label) else {
                        throw BenchError.badBatchFile("\(path): label \(value) of batch \(k), image \(n), is not a class index below \(classCount)")
                    }
                    return label
                }
                return SyntheticBatch(input: input, labels: labels)
            }
        }
    }
}
