import Foundation
import Inflate

/// Reads a file whole, gunzipping it when it starts with the gzip magic number, so every reader accepts both
/// the `.gz` files the datasets ship as and their decompressed form.
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        let raw = try readRaw(path)
        guard Zlib.isGzip(raw) else { return raw }
        do {
            return try Zlib.gunzip(raw)
        } catch let error as InflateError {
            throw DatasetError(file: path, "gzip: \(error.description)")
        }
    }

    static func readRaw(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw DatasetError(file: path, exists ? "cannot be read" : "no such file (run `make data` to fetch the datasets)")
        }
        return [UInt8](data)
    }
}
