import Datasets
import Synchronization

/// Datasets this process has already read, by name, split and folder. A pipeline runs dozens of fine-tunes on
/// the same few files in one process, and decoding and checksumming them cost seconds per stage; the files
/// cannot change under a run (`make data` writes them before), so the first read's result is reused.
enum DatasetCache {
    private static let entries = Mutex<[String: Dataset]>([:])

    /// - Parameter imageShape: the backbone's input, which an image folder is decoded to.
    static func load(_ name: String, split: DatasetSplit, dataDirectory: String, imageShape: [Int]) throws -> Dataset {
        let key = "\(name)\u{0}\(split)\u{0}\(dataDirectory)\u{0}\(imageShape)"
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let dataset = try DatasetRegistry.load(name, split: split, dataDirectory: dataDirectory, imageShape: imageShape)
        entries.withLock { $0[key] = dataset }
        return dataset
    }
}
