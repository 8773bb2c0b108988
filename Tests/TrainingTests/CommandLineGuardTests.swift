import Choices
import Datasets
import Foundation
import LearnedOptimizer
import Network
import TestSupport
import XCTest
@testable import Training

/// The command line guards the user: every bad option or file is one error line naming it, found before
/// anything prints or any run folder is made (exit status 64); misspelt names get the nearest valid one;
/// options that would be ignored are refused; risky choices that run are warned about.
final class CommandLineGuardTests: ScratchFolderTestCase {
    override class var scratchPrefix: String { "l3rs-guard" }

    var runs: String { folder.appendingPathComponent("runs").path }

    func l3rs(_ arguments: [String]) throws -> LaunchResult {
        try MPIRun.run(MPIRun.l3rsExecutable, arguments, timeout: 120)
    }

    func testSuggestionsFindTheIntendedName() {
        XCTAssertEqual(Suggestion.closest(to: "fashion-mnst", among: ["fashion-mnist", "mnist-5k"]), "fashion-mnist")
        XCTAssertEqual(Suggestion.closest(to: "learningrate", among: TrainingConfiguration.yamlKeys), "learningRate")
        XCTAssertEqual(Suggestion.closest(to: "learning_rate", among: TrainingConfiguration.yamlKeys), "learningRate")
        XCTAssertEqual(Suggestion.closest(to: "adma", among: ["sgd", "adam", "adamw"]), "adam", "a transposition is one edit")
        XCTAssertNil(Suggestion.closest(to: "cifar", among: ["fashion-mnist", "mnist-5k", "digits"]), "nothing near: no guess")
        XCTAssertEqual(Suggestion.hint(for: "reinti", among: ["keep", "reinit"]), " (did you mean 'reinit'?)")
    }

    /// Each bad input: exit 64, one "Error:" line naming the flag or file (and the suggestion), nothing on
    /// standard output (the configuration is not printed), no run folder.
    func testBadInputsAreOneLineErrorsBeforeAnythingRuns() throws {
        let weights = TrainerLaunchTests.weights
        let yaml = folder.appendingPathComponent("typo.yaml").path
        try "learningrate: 0.01\nsteps: 3\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        let small = folder.appendingPathComponent("small").path
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        try NPYArray(uint8: Array(repeating: 9, count: 4 * 64), shape: [4, 8, 8]).write(to: small + "/train_images.npy")
        try NPYArray(int64: [0, 1, 0, 1], shape: [4]).write(to: small + "/train_labels.npy")
        let common = ["--runs-directory", runs, "--data-directory", TrainerLaunchTests.dataDirectory, "--steps", "2"]
        let cases: [(String, [String], [String])] = [
            ("misspelt dataset", ["--weights", weights, "--data", "fashion-mnst"], ["unknown dataset 'fashion-mnst'", "did you mean 'fashion-mnist'?"]),
            ("misspelt optimizer", ["--weights", weights, "--optimizer", "adma"], ["--optimizer must be one of sgd, momentum, nesterov, adam, adamw, lion, rmsprop, l3rs, got 'adma'", "did you mean 'adam'?"]),
            ("misspelt head", ["--weights", weights, "--head", "reinti"], ["--head must be one of keep, reinit, got 'reinti'", "did you mean 'reinit'?"]),
            ("misspelt model", ["--weights", weights, "--model", "resnet32"], ["unknown model 'resnet32'", "did you mean 'resnet-32'?"]),
            ("misspelt YAML key", ["--config", yaml, "--weights", weights], [yaml, "unknown key(s) learningrate (did you mean 'learningRate'?)"]),
            ("missing weights", ["--weights", "/nonexistent/w.pth"], ["--weights", "/nonexistent/w.pth"]),
            ("missing learned optimizer", ["--weights", weights, "--optimizer", "l3rs", "--l3rs-weights", "/nonexistent/l.safetensors"],
             ["--l3rs-weights", "/nonexistent/l.safetensors"]),
            ("ignored learning rate", ["--weights", weights, "--optimizer", "l3rs", "--l3rs-weights", weights, "--learning-rate", "0.1"],
             ["--learning-rate would be ignored", "--l3rs-weights"]),
            ("missing data files", ["--weights", weights, "--data-directory", "/nonexistent"], ["--data fashion-mnist", "/nonexistent/fashion-mnist/", "make data"]),
            ("missing npy folder", ["--weights", weights, "--data", "npy:/nonexistent/arrays"], ["--data", "/nonexistent/arrays/train_labels.npy"]),
            ("npy images of another size", ["--weights", weights, "--data", "npy:" + small], ["1×28×28", "npy:\(small) has 1×8×8", "--resize"]),
            ("weights of another model", ["--weights", weights, "--model", "ccexam-usps"], ["does not fit model ccexam-usps"]),
            ("learning rate with the shipped learned optimizer", ["--weights", weights, "--optimizer", "l3rs", "--learning-rate", "0.1"],
             ["--learning-rate would be ignored", ShippedLearnedOptimizer.relativePath, "--l3rs-weights none"]),
            ("shipped learned optimizer on another backbone", ["--model", "mlp", "--resize", "--optimizer", "l3rs"],
             ["--l3rs-weights", ShippedLearnedOptimizer.relativePath, "another layer table", "--l3rs-weights none"]),
            ("images of another shape", ["--model", "ccexam-svhn", "--weights", TrainerLaunchTests.root.appendingPathComponent("data/ccexam/svhn.pth").path],
             ["3×32×32", "--resize"]),
        ]
        for (label, arguments, fragments) in cases {
            let result = try l3rs(["finetune"] + common + arguments)
            XCTAssertEqual(result.exitCode, 64, "\(label)\n\(result.transcript)")
            let errorLine = result.standardError.split(separator: "\n").first { $0.hasPrefix("Error:") }.map(String.init) ?? ""
            for fragment in fragments {
                XCTAssertTrue(errorLine.contains(fragment), "\(label): '\(fragment)' not in the error line\n\(result.transcript)")
            }
            XCTAssertEqual(result.standardOutput, "", "\(label): nothing is printed before validation\n\(result.transcript)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: runs), "\(label): no run folder")
        }
        let evalCommon = ["eval", "--weights", weights, "--model", "ccexam-mnist", "--data-directory", TrainerLaunchTests.dataDirectory]
        for (arguments, fragment) in [(["--data", "mnist5k"], "did you mean 'mnist-5k'?"), (["--data", "mnist-5k", "--split", "tset"], "--split must be test, train or all, got 'tset' (did you mean 'test'?)")] {
            let result = try l3rs(evalCommon + arguments)
            XCTAssertEqual(result.exitCode, 64, result.transcript)
            XCTAssertTrue(result.standardError.contains(fragment), result.transcript)
        }
        let meta = try l3rs(["meta-train", "--order", "secondorder", "--runs-directory", runs])
        XCTAssertEqual(meta.exitCode, 64, meta.transcript)
        XCTAssertTrue(meta.standardError.contains("--order must be one of firstOrder, secondOrder, got 'secondorder' (did you mean 'secondOrder'?)"), meta.transcript)
    }

    /// Every flag with a closed set of values refuses a misspelt one before anything runs with the one refusal
    /// text of `ConfigurationChoice` (the YAML keys' too), naming the flag, the value, the allowed values and the
    /// nearest one: never ArgumentParser's own message, never a late "unknown …" from validation.
    func testMisspeltChoiceFlagsAreRefused() throws {
        let cases: [([String], String)] = [
            (["finetune", "--head", "kepe"], "--head must be one of keep, reinit, got 'kepe' (did you mean 'keep'?)"),
            (["finetune", "--evaluation-split", "tset"], "--evaluation-split must be one of test, validation, got 'tset' (did you mean 'test'?)"),
            (["meta-train", "--memory", "stroe"], "--memory must be one of auto, store, recompute, got 'stroe' (did you mean 'store'?)"),
            (["meta-train", "--variant", "kindanddepth"], "--variant must be one of layerEmbedding, kindAndDepth, got 'kindanddepth' (did you mean 'kindAndDepth'?)"),
            (["meta-train", "--meta-loss-weighting", "lineer"], "--meta-loss-weighting must be one of uniform, linear, final, got 'lineer' (did you mean 'linear'?)"),
            (["meta-train", "--estimator", "truncatedBackProp"], "--estimator must be one of truncatedBackprop, antitheticES, pes, got 'truncatedBackProp' (did you mean 'truncatedBackprop'?)"),
            (["finetune", "--optimizer", "Adma"], "--optimizer must be one of sgd, momentum, nesterov, adam, adamw, lion, rmsprop, l3rs, got 'Adma' (did you mean 'adam'?)"),
            (["finetune", "--schedule", "cosin"], "--schedule must be one of constant, cosine, warmup-cosine, linear, got 'cosin' (did you mean 'cosine'?)"),
            (["finetune", "--batch-norm", "frozn"], "--batch-norm must be one of sync, local, frozen, got 'frozn' (did you mean 'frozen'?)"),
            (["meta-train", "--batch-norm", "snyc"], "--batch-norm must be one of sync, local, frozen, got 'snyc' (did you mean 'sync'?)"),
            (["finetune", "--optimizer-state", "shared"], "--optimizer-state must be one of replicated, sharded, got 'shared' (did you mean 'sharded'?)"),
            (["finetune", "--launcher", "mip"], "--launcher must be one of auto, mpi, none, got 'mip' (did you mean 'mpi'?)"),
            (["finetune", "--resume", "atuo"], "--resume must be one of auto, none, got 'atuo' (did you mean 'auto'?)"),
            (["pipeline", "--resume", "yes"], "--resume must be one of auto, none, got 'yes'"),
        ]
        for (arguments, message) in cases {
            try assertFlagRefused(arguments, message)
        }
    }

    /// One closed-set flag with a misspelt value: exit 64 before anything runs, and the configuration's refusal
    /// ("--FLAG must be one of …") rather than ArgumentParser's own message.
    private func assertFlagRefused(_ arguments: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try l3rs(arguments + ["--runs-directory", runs])
        XCTAssertEqual(result.exitCode, 64, result.transcript, file: file, line: line)
        let errorLine = result.standardError.split(separator: "\n").first { $0.hasPrefix("Error:") }.map(String.init) ?? ""
        XCTAssertEqual(errorLine, "Error: " + message, result.transcript, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs), "no run folder", file: file, line: line)
    }

    func testHelpShowsDefaults() throws {
        let help = try l3rs(["finetune", "--help"]).standardOutput.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ").joined(separator: " ")
        for fragment in ["'none': the untrained L3RS", "(default: adam)", "(default: 0.001)", "(default: 500)", "(default: 128)", "(default: reinit)", "(default: fashion-mnist;"] {
            XCTAssertTrue(help.contains(fragment), "finetune --help lacks \(fragment)")
        }
        let metaHelp = try l3rs(["meta-train", "--help"]).standardOutput.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ").joined(separator: " ")
        XCTAssertTrue(metaHelp.contains("H: inner steps before an inner run restarts (default: 200)"), metaHelp)
    }

    /// A run without --weights and a learned optimizer past its horizon run, each with one warning line.
    func testWarningsForRandomInitialisationAndPastTheHorizon() throws {
        let backbone = try ModelZoo.make(named: "mlp", classCount: 10, seed: 0)
        let optimizer = try L3RSOptimizer(configuration: L3RSConfiguration(variant: .kindAndDepth),
                                          layers: LayerSlices.make(for: backbone), parameterCount: backbone.parameterCount)
        let learned = folder.appendingPathComponent("l3rs.safetensors").path
        try LearnedOptimizerFile.save(optimizer, to: learned, extraMetadata: [LearnedOptimizerFile.horizonKey: "3"])
        XCTAssertEqual(try LearnedOptimizerFile.horizon(of: learned), 3)

        let common = ["finetune", "--model", "mlp", "--data", "digits", "--resize", "--data-directory", TrainerLaunchTests.dataDirectory,
                      "--global-batch", "16", "--eval-every", "0", "--runs-directory", runs]
        let random = try l3rs(common + ["--steps", "2", "--name", "random"])
        XCTAssertEqual(random.exitCode, 0, random.transcript)
        XCTAssertTrue(random.standardError.contains("warning: finetune without --weights (weights:) trains mlp from a random initialisation"), random.transcript)

        let past = try l3rs(common + ["--steps", "5", "--name", "past", "--optimizer", "l3rs", "--l3rs-weights", learned])
        XCTAssertEqual(past.exitCode, 0, past.transcript)
        XCTAssertTrue(past.standardError.contains("warning: --steps 5 runs the learned optimizer \(learned) past the 3-step horizon"), past.transcript)
        let within = try l3rs(common + ["--steps", "3", "--name", "within", "--optimizer", "l3rs", "--l3rs-weights", learned])
        XCTAssertEqual(within.exitCode, 0, within.transcript)
        XCTAssertFalse(within.standardError.contains("horizon"), within.transcript)
        let untrained = try l3rs(common + ["--steps", "2", "--name", "untrained", "--optimizer", "l3rs", "--l3rs-weights", "none",
                                           "--learning-rate", "0.01"])
        XCTAssertEqual(untrained.exitCode, 0, "--l3rs-weights none runs the untrained rule on any model\n\(untrained.transcript)")
    }

    /// `finetune --optimizer l3rs` without --l3rs-weights runs the shipped learned optimizer (its run folder
    /// records the file it found).
    func testTheShippedLearnedOptimizerIsTheDefault() throws {
        let result = try l3rs(["finetune", "--weights", TrainerLaunchTests.weights, "--data", "mnist-5k", "--data-directory",
                               TrainerLaunchTests.dataDirectory, "--optimizer", "l3rs", "--steps", "2", "--global-batch", "8",
                               "--eval-every", "0", "--runs-directory", runs, "--name", "shipped"])
        XCTAssertEqual(result.exitCode, 0, result.transcript)
        let recorded = try String(contentsOfFile: runs + "/shipped/config.yaml", encoding: .utf8)
        XCTAssertTrue(recorded.contains(ShippedLearnedOptimizer.relativePath), recorded)
    }

    /// meta-train records its horizon in the learned-optimizer file (and exports its metrics); finetune reads it.
    func testMetaTrainRecordsTheHorizonThatFinetuneWarnsAbout() throws {
        let data = TrainerLaunchTests.dataDirectory, weights = TrainerLaunchTests.weights
        let meta = try l3rs(["meta-train", "--data", "mnist-5k", "--data-directory", data, "--weights", weights, "--meta-steps", "2",
                             "--truncation", "2", "--horizon", "4", "--inner-runs", "1", "--global-batch", "8", "--validation-batch", "8",
                             "--runs-directory", runs, "--name", "meta"])
        XCTAssertEqual(meta.exitCode, 0, meta.transcript)
        let learned = runs + "/meta/l3rs.safetensors"
        XCTAssertEqual(try LearnedOptimizerFile.horizon(of: learned), 4)
        for file in ["metrics.csv", "events.out.tfevents.metrics"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runs + "/meta/" + file), file)
        }
        let finetune = try l3rs(["finetune", "--data", "mnist-5k", "--data-directory", data, "--weights", weights, "--optimizer", "l3rs",
                                 "--l3rs-weights", learned, "--steps", "6", "--global-batch", "8", "--eval-every", "0",
                                 "--runs-directory", runs, "--name", "apply"])
        XCTAssertEqual(finetune.exitCode, 0, finetune.transcript)
        XCTAssertTrue(finetune.standardError.contains("past the 4-step horizon it was meta-trained for"), finetune.transcript)
    }
}
