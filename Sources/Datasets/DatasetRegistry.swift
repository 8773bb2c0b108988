/// Which part of a dataset to load. Sets published without a split offer only `.all`; make a
/// train/validation split from them with `Dataset.split(validationCount:seed:)`.
public enum DatasetSplit: String, Sendable, CaseIterable {
    case train, test, all
}

/// A dataset L3RS knows by name: where its files live under the data directory, which splits it has and
/// what its images look like. The file layout is the one `tools/fetch-data.sh` produces.
public struct DatasetDescriptor: Sendable {
    public let name: String
    /// (C, H, W) of the stored images, before any resize.
    public let imageShape: [Int]
    public let classCount: Int
    public let splits: [DatasetSplit]
    /// Paths relative to the data directory, per split.
    public let files: [DatasetSplit: [String]]
    public let summary: String
    /// Reads a split's files; `imageShape` (C, H, W) is the backbone's input, which formats of images of any
    /// size (an image folder) decode to. Formats of fixed-size arrays ignore it.
    let reader: @Sendable (_ paths: [String], _ name: String, _ imageShape: [Int]?) throws -> Dataset

    /// Loads a split from `dataDirectory` (default `data`).
    public func load(_ split: DatasetSplit, dataDirectory: String = "data", imageShape: [Int]? = nil) throws -> Dataset {
        guard let relative = files[split] else {
            let offered = splits.map(\.rawValue).joined(separator: ", ")
            throw DatasetError(file: name, "has no '\(split.rawValue)' split; it offers: \(offered)")
        }
        return try reader(relative.map { dataDirectory.isEmpty ? $0 : dataDirectory + "/" + $0 }, name, imageShape)
    }
}

/// The known datasets by name: fashion-mnist, mnist-5k, animal-mnist, digits, and for users' own data
/// `npy:DIR` (DIR holds `train_images.npy` and `train_labels.npy`, optionally `test_images.npy`,
/// `test_labels.npy` and `classes.txt`; see `NPYFolder`) and `folder:DIR` (one sub-folder of PNG or JPEG
/// images per class; see `ImageFolder`). A relative DIR is taken as it is, not under the data directory.
public enum DatasetRegistry {
    public static let known: [DatasetDescriptor] = [
        DatasetDescriptor(
            name: "fashion-mnist", imageShape: [1, 28, 28], classCount: 10, splits: [.train, .test],
            files: [
                .train: ["fashion-mnist/train-images-idx3-ubyte.gz", "fashion-mnist/train-labels-idx1-ubyte.gz"],
                .test: ["fashion-mnist/t10k-images-idx3-ubyte.gz", "fashion-mnist/t10k-labels-idx1-ubyte.gz"],
            ],
            summary: "Zalando clothing, 60,000 train + 10,000 test, 28×28 grey, 10 classes",
            reader: { paths, name, _ in try Dataset.readIDX(images: paths[0], labels: paths[1], name: name, classCount: 10) }),
        DatasetDescriptor(
            name: "mnist-5k", imageShape: [1, 28, 28], classCount: 10, splits: [.all],
            files: [.all: ["mnist-5k/mnist_5k.csv.gz"]],
            summary: "5,000 MNIST digits (500 per class, sorted by class), 28×28 grey",
            reader: { paths, name, _ in try Dataset.readCSVDigits(paths[0], name: name, side: 28, pixelMaximum: 255, classCount: 10) }),
        DatasetDescriptor(
            name: "animal-mnist", imageShape: [1, 28, 28], classCount: 10, splits: [.all],
            files: [.all: ["animal-mnist/animal_data_version_3.gz", "animal-mnist/animal_label_version_3.gz"]],
            summary: "10,000 animal silhouettes, 28×28 grey, 10 classes × 1,000",
            reader: { paths, name, _ in try Dataset.readAnimalMNIST(images: paths[0], labels: paths[1], name: name) }),
        DatasetDescriptor(
            name: "digits", imageShape: [1, 8, 8], classCount: 10, splits: [.all],
            files: [.all: ["digits/digits.csv.gz"]],
            summary: "UCI handwritten digits, 1,797 × 8×8, values 0..16",
            reader: { paths, name, _ in try Dataset.readCSVDigits(paths[0], name: name, side: 8, pixelMaximum: 16, classCount: 10) }),
    ]

    public static var knownNames: [String] { known.map(\.name) + ["npy:DIR", "folder:DIR"] }

    /// The descriptor for a name, including users' own `npy:DIR` and `folder:DIR`, whose class count is read
    /// from the folder here, before any model is built, so the head gets one output per class.
    public static func descriptor(named name: String) throws -> DatasetDescriptor {
        if name.hasPrefix("npy:") {
            let directory = String(name.dropFirst(4))
            guard !directory.isEmpty else { throw DatasetError(file: name, "npy: needs a folder, e.g. npy:my-data") }
            let classCount = try NPYFolder.classCount(directory)
            return DatasetDescriptor(
                name: name, imageShape: try NPYFolder.imageShape(directory), classCount: classCount, splits: [.train, .test],
                files: [
                    .train: ["\(directory)/train_images.npy", "\(directory)/train_labels.npy"],
                    .test: ["\(directory)/test_images.npy", "\(directory)/test_labels.npy"],
                ],
                summary: "user data in \(directory)",
                reader: { paths, name, _ in
                    try Dataset.readNPY(images: paths[0], labels: paths[1], name: name, classCount: classCount)
                })
        }
        if name.hasPrefix("folder:") {
            let directory = String(name.dropFirst(7))
            guard !directory.isEmpty else { throw DatasetError(file: name, "folder: needs a folder, e.g. folder:my-images") }
            let layout = try ImageFolder.Layout(directory)
            return DatasetDescriptor(
                name: name, imageShape: [], classCount: layout.classNames.count, splits: layout.splits,
                files: layout.folders.mapValues { [$0] },
                summary: "user images in \(directory): \(layout.classNames.count) classes",
                reader: { paths, name, imageShape in
                    try ImageFolder.read(paths[0], classNames: layout.classNames, name: name, imageShape: imageShape)
                })
        }
        guard let descriptor = known.first(where: { $0.name == name }) else {
            throw DatasetError(file: name, "unknown dataset; known: \(knownNames.joined(separator: ", "))")
        }
        return descriptor
    }

    /// Loads a dataset split by name. `npy:` and `folder:` folders are read relative to the working directory.
    /// - Parameter imageShape: the backbone's input (C, H, W), which an image folder is decoded and resized to.
    public static func load(_ name: String, split: DatasetSplit, dataDirectory: String = "data", imageShape: [Int]? = nil) throws -> Dataset {
        let descriptor = try descriptor(named: name)
        let isUsers = name.hasPrefix("npy:") || name.hasPrefix("folder:")
        return try descriptor.load(split, dataDirectory: isUsers ? "" : dataDirectory, imageShape: imageShape)
    }
}
