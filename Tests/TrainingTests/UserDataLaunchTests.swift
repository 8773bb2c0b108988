import Checkpoints
import Datasets
import Foundation
import TestSupport
import XCTest

/// `l3rs finetune` on users' own data, as the README tells a new user to run it: an npy pair and a folder of
/// PNG and JPEG images, both written here, with 3 classes. The head must get 3 outputs and the loss must fall.
final class UserDataLaunchTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertTrue(FileManager.default.fileExists(atPath: TrainerLaunchTests.weights), "missing \(TrainerLaunchTests.weights): run `make data`")
        root = FileManager.default.temporaryDirectory.appendingPathComponent("l3rs-userdata-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
        try super.tearDownWithError()
    }

    /// A 28×28 grey image of class k: a bright horizontal band in the k-th third, faint seeded noise elsewhere.
    static func picture(_ label: Int, _ index: Int) -> [UInt8] {
        (0..<(28 * 28)).map { pixel in
            let row = pixel / 28
            let noise = UInt8((pixel &* 2_654_435_761 &+ index &* 40_503) % 40)
            return row / 10 == label ? 200 + noise / 2 : noise
        }
    }

    func finetune(_ data: String, name: String) throws -> LaunchResult {
        try MPIRun.run(MPIRun.l3rsExecutable, [
            "finetune", "--weights", TrainerLaunchTests.weights, "--data", data, "--steps", "12", "--global-batch", "16",
            "--eval-every", "0", "--checkpoint-every", "0", "--learning-rate", "0.003", "--name", name,
            "--runs-directory", root.appendingPathComponent("runs").path,
        ], timeout: 180)
    }

    /// The head has one output per class, and the mean loss of the last 4 steps is below that of the first 4.
    func assertTrainedThreeClassHead(_ name: String, _ result: LaunchResult) throws {
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let run = root.appendingPathComponent("runs/\(name)")
        let weights = try Safetensors.read(run.appendingPathComponent("final.safetensors").path)
        let outputs = weights.tensors.filter { $0.shape.count == 2 }.last
        XCTAssertEqual(outputs?.shape.first, 3, "head of \(weights.tensors.map { "\($0.name) \($0.shape)" })")
        let losses = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { line -> Double? in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return (object?["loss"] as? NSNumber)?.doubleValue
            }
        XCTAssertEqual(losses.count, 12)
        // Runs people can watch: a redirected log without terminal escape codes, stamped records, and the
        // CSV and TensorBoard companions of metrics.jsonl.
        XCTAssertFalse(result.standardOutput.contains("\u{1B}"), "escape codes in a redirected log:\n\(result.standardOutput)")
        XCTAssertTrue(result.standardOutput.contains("train 12/12"), result.standardOutput)
        let firstRecord = try JSONSerialization.jsonObject(with: Data(try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")[0].utf8)) as? [String: Any]
        XCTAssertNotNil((firstRecord?["time"] as? String).flatMap { ISO8601DateFormatter().date(from: String($0.prefix(19)) + "Z") })
        let csv = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "time,wall_time,step,loss,accuracy,learning_rate,gradient_norm,images_per_second,seconds,test_loss,test_accuracy,skipped")
        XCTAssertEqual(csv.count, 13)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("events.out.tfevents.metrics").path))
        let first = losses.prefix(4).reduce(0, +) / 4, last = losses.suffix(4).reduce(0, +) / 4
        XCTAssertLessThan(last, first * 0.8, "loss falls: \(losses)")
    }

    func testFinetuneOnAnNPYPair() throws {
        let folder = root.appendingPathComponent("npy").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (split, count) in [("train", 48), ("test", 12)] {
            let labels = (0..<count).map { $0 % 3 }
            try NPYArray(uint8: labels.enumerated().flatMap { Self.picture($1, $0) }, shape: [count, 28, 28]).write(to: "\(folder)/\(split)_images.npy")
            try NPYArray(int64: labels.map(Int64.init), shape: [count]).write(to: "\(folder)/\(split)_labels.npy")
        }
        try assertTrainedThreeClassHead("npy", try finetune("npy:" + folder, name: "npy"))
        // `l3rs eval` builds its head from the folder's class count too, so the 3-class weights fit.
        let evaluated = try MPIRun.run(MPIRun.l3rsExecutable, [
            "eval", "--weights", root.appendingPathComponent("runs/npy/final.safetensors").path, "--model", "ccexam-mnist",
            "--data", "npy:" + folder,
        ], timeout: 120)
        XCTAssertEqual(evaluated.exitCode, 0, evaluated.transcript)
        XCTAssertTrue(evaluated.standardOutput.contains("(test, 12 images, 1 rank(s)): accuracy"), evaluated.transcript)
        // `l3rs report` plots the run's curves into one page; a folder without metrics is a named error.
        let page = root.appendingPathComponent("report.html").path
        let report = try MPIRun.run(MPIRun.l3rsExecutable, ["report", root.appendingPathComponent("runs/npy").path, "--output", page], timeout: 60)
        XCTAssertEqual(report.exitCode, 0, report.transcript)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains(">npy<") && html.contains("test_accuracy"), html)
        let missing = try MPIRun.run(MPIRun.l3rsExecutable, ["report", folder, "--output", page], timeout: 60)
        XCTAssertEqual(missing.exitCode, 64, missing.transcript)
        XCTAssertTrue(missing.standardError.contains("\(folder): holds no metrics.jsonl"), missing.transcript)
        let misspelt = try MPIRun.run(MPIRun.l3rsExecutable, ["report", root.appendingPathComponent("runs/npy").path, "--metrics", "los"], timeout: 60)
        XCTAssertEqual(misspelt.exitCode, 64, misspelt.transcript)
        XCTAssertTrue(misspelt.standardError.contains("--metrics: no run logged 'los' (did you mean 'loss'?)"), misspelt.transcript)
    }

    func testFinetuneOnAnImageFolder() throws {
        let folder = root.appendingPathComponent("images").path
        for (label, className) in ["circle", "square", "triangle"].enumerated() {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(className)", withIntermediateDirectories: true)
            for index in 0..<20 {
                // Larger than the backbone's 28×28 and in colour: resized and turned grey by the reader.
                let small = Self.picture(label, index)
                let pixels = (0..<(56 * 56 * 3)).map { (value: Int) -> UInt8 in
                    let pixel = value / 3
                    return small[(pixel / 56 / 2) * 28 + (pixel % 56) / 2]
                }
                let colour = ImageCodec.Image(pixels: pixels, width: 56, height: 56, channels: 3)
                let bytes = index % 2 == 0 ? try ImageCodec.encodePNG(colour) : try ImageCodec.encodeJPEG(colour, quality: 95)
                try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(className)/\(index).\(index % 2 == 0 ? "png" : "jpg")"))
            }
        }
        let first = try finetune("folder:" + folder, name: "folder")
        try assertTrainedThreeClassHead("folder", first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/.l3rs-cache"), "the decoded images are cached")
    }
}
