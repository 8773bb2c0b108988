import Foundation

/// A folder of users' own numpy arrays (`npy:DIR`): `train_images.npy` and `train_labels.npy`, optionally
/// `test_images.npy` and `test_labels.npy`, and optionally `classes.txt` with one class name per line.
public enum NPYFolder {
    /// The metadata file whose non-empty lines name the classes, in label order.
    public static let classNamesFile = "classes.txt"

    /// How many outputs the classification head needs: the lines of `classes.txt` when the folder has one (so
    /// a class absent from the labels still gets an output), else the largest label of the train and test
    /// labels + 1. Read before the model is built.
    public static func classCount(_ directory: String) throws -> Int {
        let namesPath = directory + "/" + classNamesFile
        if FileManager.default.fileExists(atPath: namesPath) {
            guard let text = try? String(contentsOfFile: namesPath, encoding: .utf8) else {
                throw DatasetError(file: namesPath, "cannot be read as UTF-8 text (one class name per line)")
            }
            let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw DatasetError(file: namesPath, "names no class (expected one class name per line)") }
            return names.count
        }
        var largest: Int64 = -1
        for split in ["train", "test"] {
            let path = "\(directory)/\(split)_labels.npy"
            // The test split is optional; a missing train file is reported by the read below.
            if split == "test" && !FileManager.default.fileExists(atPath: path) { continue }
            let labels = try NPYArray.read(path)
            guard labels.shape.count == 1, labels.dtype != .float32 else {
                throw DatasetError(file: path, location: "header", "labels must be a 1-D integer array, got \(labels.dtype.rawValue) of shape \(labels.shape)")
            }
            largest = max(largest, labels.integers().max() ?? -1)
        }
        guard largest >= 0 else { throw DatasetError(file: "\(directory)/train_labels.npy", "holds no labels") }
        guard largest < Int64(Int32.max) else {
            throw DatasetError(file: "\(directory)/train_labels.npy", "label \(largest) is not a class index")
        }
        return Int(largest) + 1
    }

    /// (C, H, W) of the training images, from the header of `train_images.npy` (N×H×W is one channel).
    public static func imageShape(_ directory: String) throws -> [Int] {
        let path = "\(directory)/train_images.npy"
        let shape = try NPYArray.readHeader(path).shape
        switch shape.count {
        case 3: return [1, shape[1], shape[2]]
        case 4: return Array(shape[1...])
        default:
            throw DatasetError(file: path, location: "header field 'shape'", "images have shape \(shape), expected (N, H, W) or (N, C, H, W)")
        }
    }
}
