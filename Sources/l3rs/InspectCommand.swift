import ArgumentParser
import Checkpoints

/// `l3rs inspect FILE`: what a checkpoint holds, before training loads it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors (name, dtype, shape, elements) and metadata of a safetensors or PyTorch .pth file."
    )

    @Argument(help: "A .safetensors file or a torch.save state_dict (.pth).")
    var file: String

    func run() throws {
        let loaded: (file: TensorFile, format: TensorFileLoader.Format)
        do {
            loaded = try TensorFileLoader.load(file)
        } catch {
            printError("l3rs inspect: \(error)")
            throw ExitCode.failure
        }
        let tensors = loaded.file.tensors
        printLine("\(file): \(loaded.format.rawValue), \(tensors.count) tensor(s)")
        for key in loaded.file.metadata.keys.sorted() {
            printLine("  metadata \(key) = \(loaded.file.metadata[key]!)")
        }
        let nameWidth = max(4, tensors.map(\.name.count).max() ?? 0)
        printLine("  " + "name".padding(nameWidth) + "  dtype  " + "shape".padding(20) + "  elements")
        for tensor in tensors {
            let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
            printLine("  " + tensor.name.padding(nameWidth) + "  " + tensor.dtype.rawValue.padding(5) + "  " + shape.padding(20) + "  \(tensor.elementCount)")
        }
        printLine("total parameters: \(loaded.file.elementCount)")
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
