import XCTest
@testable import Network

/// End-to-end finite-difference checks of whole models through the softmax cross-entropy loss, with respect
/// to the input and to every parameter tensor (a random subset of coordinates for large tensors).
/// ε = 1e-3, loss evaluated in Double from the logits; a target passes when
/// ‖a − n‖ ≤ 5e-2·max(‖a‖, ‖n‖) + 5e-4·√k. The absolute part is Float32 round-off: through a deep net with
/// batch statistics the numeric derivatives scatter by about 2e-4 around the analytic value whatever ε is
/// (measured on the SVHN net for ε from 3e-4 to 1e-2). It also covers the conv biases directly before a
/// BatchNorm in training mode, whose true gradient is exactly zero. Coordinates straddling a ReLU/max-pool
/// kink are detected from their one-sided differences and left out (at most a quarter of them may be).
final class ModelGradientTests: XCTestCase {
    let tolerance = 5e-2
    let absoluteTolerance = 5e-4

    private func check(_ model: Model, batch: Int, training: Bool, coordinates: Int, epsilon: Float = 1e-3,
                       tolerance: Double? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let x = TestData.uniform(shape: [batch] + model.inputShape, in: -1, 1, seed: 31)
        let labels = TestData.labels(count: batch, classes: model.classCount)
        let results = GradientCheck.modelResults(model, input: x, labels: labels, training: training,
                                                 epsilon: epsilon, maxCoordinatesPerTarget: coordinates)
        // A bias directly before a BatchNorm in training mode has an exactly zero gradient (the batch mean
        // absorbs it), so "signal" is not required of every tensor; the error bound still applies.
        assertGradientsMatch(results, tolerance: tolerance ?? self.tolerance, absoluteTolerance: absoluteTolerance, requireSignal: false,
                             model.name, file: file, line: line)
        let skipped = results.reduce(0) { $0 + $1.skippedKinks }, checked = results.reduce(0) { $0 + $1.checkedCoordinates }
        XCTAssertLessThanOrEqual(skipped * 3, checked, "\(model.name): too many kinks skipped (\(skipped) of \(skipped + checked))", file: file, line: line)
        let withSignal = results.filter { $0.numericNorm > GradientCheck.normFloor }.count
        XCTAssertGreaterThan(withSignal, results.count / 2, "\(model.name): most gradients should be non-zero", file: file, line: line)
    }

    func testMLP() {
        let model = ModelZoo.mlp(inputShape: [1, 4, 4], hiddenWidths: [8, 6], classCount: 3, seed: 1)
        check(model, batch: 3, training: true, coordinates: 1_000)
    }

    func testCcexamMNIST() {
        check(ModelZoo.ccexamMNIST(seed: 2), batch: 2, training: true, coordinates: 12)
    }

    func testCcexamUSPSTrainingWithBatchStatisticsAndDropout() {
        check(ModelZoo.ccexamUSPS(seed: 3), batch: 3, training: true, coordinates: 12)
    }

    func testCcexamUSPSInference() {
        check(ModelZoo.ccexamUSPS(seed: 4), batch: 2, training: false, coordinates: 12)
    }

    /// Tolerance 1e-1 here: a BatchNorm parameter of the first block moves all 2×32×32 pre-activations of
    /// its channel, so every perturbation crosses a few ReLU/max-pool kinks too small for the one-sided
    /// test to flag; measured, they scatter the first blocks' numeric gradients by 1–3% (ε 3e-4 … 1e-3),
    /// up to 6% on some coordinate subsets, while the classifier layers agree to 1e-4. Each layer's own
    /// check above is at 2e-2, and a wrong backward pass is off by far more than 1e-1.
    func testCcexamSVHNTraining() {
        check(ModelZoo.ccexamSVHN(seed: 5), batch: 2, training: true, coordinates: 6, tolerance: 1e-1)
    }

    func testResNetFor28x28Grey() {
        let model = ModelZoo.resnet(inputShape: [1, 28, 28], blocksPerStage: [1, 1], baseWidth: 4, classCount: 5, seed: 6)
        check(model, batch: 2, training: true, coordinates: 12)
    }

    /// The torchvision stem (7×7 stride-2 conv, 3×3 stride-2 padded max-pool) in front of the blocks. ε 3e-4:
    /// at 1e-3 a conv1 weight step moves every pooled window, and near-ties the one-sided test cannot flag
    /// put conv1.weight at 6.5% (measured); each layer's own check is at 2e-2.
    func testResNetWithImageNetStem() {
        let model = ModelZoo.resnet(inputShape: [3, 20, 20], blocksPerStage: [1, 1], baseWidth: 4, classCount: 3, seed: 8,
                                    stem: .imagenet)
        check(model, batch: 3, training: true, coordinates: 12, epsilon: 3e-4)
    }

    func testResNetFor32x32ColourInference() {
        let model = ModelZoo.resnet(inputShape: [3, 32, 32], blocksPerStage: [1, 1], baseWidth: 4, classCount: 4, seed: 7)
        check(model, batch: 2, training: false, coordinates: 12)
    }
}
