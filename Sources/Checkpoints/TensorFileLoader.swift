import Foundation

/// Opens any checkpoint L3RS reads, choosing the format from the file's first bytes rather than its name:
/// a zip archive is a PyTorch `torch.save` file, anything else is read as safetensors.
public enum TensorFileLoader {
    public enum Format: String, Sendable {
        case safetensors
        case pytorch = "pytorch (torch.save zip)"
    }

    public static func load(_ path: String) throws -> (file: TensorFile, format: Format) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        let bytes = [UInt8](data)
        if PyTorchStateDict.isPyTorchArchive(bytes) {
            return (try PyTorchStateDict.decode(bytes, file: path), .pytorch)
        }
        // A pickle (PROTO opcode 0x80, protocol 2...5) is PyTorch's legacy format from before PyTorch 1.6.
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) {
            throw CheckpointError(file: path, "a legacy (non-zip) PyTorch file, which is not read; re-save it with torch.save(state_dict, path) from PyTorch 1.6 or later (zip format), or convert it to safetensors")
        }
        return (try Safetensors.decode(bytes, file: path), .safetensors)
    }
}
