import Foundation

/// Users' own images (`folder:DIR`): one sub-folder of PNG or JPEG files per class, the sub-folders' sorted
/// names giving the class indices (as torchvision's ImageFolder). `DIR/train/` with `DIR/test/` (or
/// `DIR/val/`) gives the train and test splits; otherwise the classes sit in DIR itself and the run makes its
/// seeded split.
///
/// Images are decoded to the backbone's channels (colour to grey or grey to RGB), resized to its input and
/// kept as bytes; the first read writes them to `DIR/.../.l3rs-cache/` as NPY so later runs skip decoding.
/// The cache file's name holds a hash of the image files' names, sizes and modification times, so adding,
/// removing or editing an image makes the next run decode again.
public enum ImageFolder {
    public static let cacheFolderName = ".l3rs-cache"
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Where a folder's splits and classes are.
    public struct Layout: Sendable {
        public let classNames: [String]
        public let splits: [DatasetSplit]
        /// The class-holding folder of each split.
        public let folders: [DatasetSplit: String]

        public init(_ directory: String) throws {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
                throw DatasetError(file: directory, "is not a folder (folder:DIR needs one sub-folder of PNG or JPEG images per class)")
            }
            let top = try subfolders(of: directory)
            if top.contains("train") {
                let evaluation = ["test", "val"].first { top.contains($0) }
                if let evaluation {
                    folders = [.train: directory + "/train", .test: directory + "/" + evaluation]
                    splits = [.train, .test]
                } else {
                    folders = [.all: directory + "/train"]
                    splits = [.all]
                }
            } else {
                folders = [.all: directory]
                splits = [.all]
            }
            let classFolder = folders[.train] ?? folders[.all]!
            classNames = try subfolders(of: classFolder)
            guard !classNames.isEmpty else {
                throw DatasetError(file: classFolder, "has no class sub-folders (expected one sub-folder of PNG or JPEG images per class)")
            }
            if let test = folders[.test] {
                let unknown = try subfolders(of: test).filter { !classNames.contains($0) }
                guard unknown.isEmpty else {
                    throw DatasetError(file: test, "has class folder(s) \(unknown.joined(separator: ", ")) that \(classFolder) lacks; classes: \(classNames.joined(separator: ", "))")
                }
            }
        }
    }

    /// Visible sub-folders, sorted by name.
    static func subfolders(of directory: String) throws -> [String] {
        try visibleEntries(of: directory).filter { entry in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory + "/" + entry, isDirectory: &isFolder) && isFolder.boolValue
        }
    }

    private static func visibleEntries(of directory: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw DatasetError(file: directory, "cannot be listed: \((error as NSError).localizedDescription)")
        }
    }

    /// One image file and its class.
    struct Entry {
        let path: String
        let label: Int32
        let size: Int
        let modified: Double
    }

    /// Every image of a split's folder with its label; a file that is not a PNG or JPEG by name is an error.
    static func entries(_ folder: String, classNames: [String]) throws -> [Entry] {
        var entries: [Entry] = []
        for (label, className) in classNames.enumerated() {
            let classFolder = folder + "/" + className
            guard FileManager.default.fileExists(atPath: classFolder) else { continue }
            for file in try visibleEntries(of: classFolder) {
                let path = classFolder + "/" + file
                // Through symbolic links, so a folder of links to images elsewhere works.
                let attributes = try FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
                guard attributes[.type] as? FileAttributeType == .typeRegular else {
                    throw DatasetError(file: path, "is not an image file (class folders hold PNG or JPEG files, no sub-folders)")
                }
                guard imageExtensions.contains((file as NSString).pathExtension.lowercased()) else {
                    throw DatasetError(file: path, "is not a .png, .jpg or .jpeg file; remove it or convert it")
                }
                entries.append(Entry(path: path, label: Int32(label), size: (attributes[.size] as? NSNumber)?.intValue ?? 0,
                                     modified: (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0))
            }
        }
        guard !entries.isEmpty else { throw DatasetError(file: folder, "holds no PNG or JPEG images in its class folders") }
        return entries
    }

    /// Reads a split's folder as (C, H, W) byte images: `imageShape` (the backbone's input) when given, else
    /// the first image's size and channels. Uses and refreshes the folder's cache.
    public static func read(_ folder: String, classNames: [String], name: String, imageShape: [Int]?) throws -> Dataset {
        let entries = try entries(folder, classNames: classNames)
        let shape = try imageShape ?? nativeShape(of: entries[0].path)
        guard shape.count == 3, shape[0] == 1 || shape[0] == 3, shape[1] > 0, shape[2] > 0 else {
            throw DatasetError(file: folder, "images can be decoded to 1 or 3 channels of a positive size, not \(shape)")
        }
        let key = "\(shape[0])x\(shape[1])x\(shape[2])"
        let cacheFolder = folder + "/" + cacheFolderName
        let stem = cacheFolder + "/\(key)-" + String(format: "%016llx", fingerprint(entries, folder: folder))
        if let cached = try? readCache(stem, count: entries.count, shape: shape) {
            return try Dataset(name: name, pixels: cached.pixels, pixelMaximum: 255, labels: cached.labels, channels: shape[0],
                               height: shape[1], width: shape[2], classCount: classNames.count)
        }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(entries.count * shape.reduce(1, *))
        for entry in entries {
            pixels += try decodeResized(entry.path, shape: shape)
        }
        let labels = entries.map(\.label)
        writeCache(stem, key: key, folder: cacheFolder, pixels: pixels, labels: labels, shape: shape)
        return try Dataset(name: name, pixels: pixels, pixelMaximum: 255, labels: labels, channels: shape[0],
                           height: shape[1], width: shape[2], classCount: classNames.count)
    }

    private static func nativeShape(of path: String) throws -> [Int] {
        let image = try ImageCodec.decode(try FileBytes.readRaw(path), file: path)
        return [image.channels, image.height, image.width]
    }

    /// One image decoded to `shape`'s channels, shrunk by whole blocks while it is more than twice the target,
    /// then resized bilinearly (Resize.swift) and rounded back to bytes.
    static func decodeResized(_ path: String, shape: [Int]) throws -> [UInt8] {
        let image = try ImageCodec.decode(try FileBytes.readRaw(path), channels: shape[0], file: path)
        let (c, h, w) = (image.channels, image.height, image.width)
        var planes = [Float](repeating: 0, count: image.pixels.count)
        for y in 0..<h {
            for x in 0..<w {
                for channel in 0..<c { planes[(channel * h + y) * w + x] = Float(image.pixels[(y * w + x) * c + channel]) }
            }
        }
        var single = try Dataset(name: path, images: planes, labels: [0], channels: c, height: h, width: w, classCount: 1, pixelMaximum: 255)
        let factor = min(h / shape[1], w / shape[2])
        if factor >= 2 { single = try single.reducedByAveraging(factor: factor) }
        single = try single.resized(height: shape[1], width: shape[2])
        return single.images.map { UInt8(max(0, min(255, $0.rounded()))) }
    }

    /// FNV-1a over every image's path (relative to the folder), size and modification time.
    static func fingerprint(_ entries: [Entry], folder: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for entry in entries {
            let line = "\(entry.path.dropFirst(folder.count))\u{0}\(entry.size)\u{0}\(entry.modified.bitPattern)\n"
            for byte in line.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        }
        return hash
    }

    private static func readCache(_ stem: String, count: Int, shape: [Int]) throws -> (pixels: [UInt8], labels: [Int32]) {
        let images = try NPYArray.read(stem + ".images.npy")
        let labels = try NPYArray.read(stem + ".labels.npy")
        guard images.dtype == .uint8, images.shape == [count] + shape, labels.shape == [count] else {
            throw DatasetError(file: stem, "cache does not match the folder")
        }
        return (images.bytes, labels.integers().map { Int32($0) })
    }

    /// Writes the cache (labels first, images last, so a complete images file means a complete cache) and
    /// removes the same shape's stale caches. A folder that cannot be written to just goes without a cache.
    private static func writeCache(_ stem: String, key: String, folder: String, pixels: [UInt8], labels: [Int32], shape: [Int]) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // Another rank may be writing the same (current) cache at the same time; only other fingerprints go.
            for old in try FileManager.default.contentsOfDirectory(atPath: folder)
            where old.hasPrefix(key + "-") && !(folder + "/" + old).hasPrefix(stem) {
                try? FileManager.default.removeItem(atPath: folder + "/" + old)
            }
            try NPYArray(int64: labels.map { Int64($0) }, shape: [labels.count]).write(to: stem + ".labels.npy")
            try NPYArray(uint8: pixels, shape: [labels.count] + shape).write(to: stem + ".images.npy")
        } catch {
            return
        }
    }
}
