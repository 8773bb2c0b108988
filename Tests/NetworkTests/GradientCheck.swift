import Foundation
import Seeding
import XCTest
@testable import Network

/// Central finite-difference gradient checks, shared by every layer, loss and model test.
///
/// The function checked is a scalar L (a random projection Σ rᵢ·yᵢ of a layer's output, accumulated in
/// Double, or a model's loss). For each target (the input, each parameter tensor) a set of coordinates is
/// perturbed by ±ε and the numeric derivative (L(+ε) − L(−ε)) / 2ε compared with the analytic gradient. The
/// comparison is on the vector of checked coordinates: relativeError = ‖a − n‖ / max(‖a‖, ‖n‖, floor),
/// which weighs coordinates by their size so Float32 round-off in tiny derivatives cannot dominate.
///
/// Whole networks contain ReLU and max-pool kinks that a test cannot steer its inputs away from. With
/// `skipKinks`, a coordinate whose one-sided differences (L(+ε) − L(0))/ε and (L(0) − L(−ε))/ε disagree by
/// more than `kinkRelativeGap` of their size (and more than the round-off noise) is taken to straddle a
/// kink and is left out; the result counts those, and callers bound how many may be left out. Which
/// coordinates are skipped depends only on the numeric values, never on the analytic gradient under test.
struct GradientTarget {
    let label: String
    /// The values the check perturbs (restored afterwards).
    let values: UnsafeMutableBufferPointer<Float>
    /// Reads the analytic gradient after `computeAnalytic` has run.
    let analytic: () -> [Float]
}

struct GradientCheckResult: CustomStringConvertible {
    let label: String
    let relativeError: Double
    /// ‖a − n‖ over the checked coordinates.
    let differenceNorm: Double
    let analyticNorm: Double
    let numericNorm: Double
    let checkedCoordinates: Int
    let skippedKinks: Int

    var description: String {
        "\(label): relative error \(relativeError) over \(checkedCoordinates) coordinates, \(skippedKinks) kinks skipped (‖analytic‖ \(analyticNorm), ‖numeric‖ \(numericNorm))"
    }
}

enum GradientCheck {
    /// Norms below this are treated as "zero gradient" when forming the relative error.
    static let normFloor = 1e-4

    static func run(
        targets: [GradientTarget],
        evaluate: () -> Double,
        computeAnalytic: () -> Void,
        epsilon: Float,
        maxCoordinatesPerTarget: Int? = nil,
        skipKinks: Bool = false,
        kinkRelativeGap: Double = 0.2,
        seed: UInt64 = 7
    ) -> [GradientCheckResult] {
        let baseline = skipKinks ? evaluate() : 0
        // Round-off in one evaluation of L (Float32 activations): a gap below this is noise, not a kink.
        let noise = 4 * Double(Float(max(abs(baseline), 1)).ulp) / Double(epsilon)
        computeAnalytic()
        let analyticGradients = targets.map { $0.analytic() }
        var generator = SplitMix64(seed: seed)
        var results: [GradientCheckResult] = []
        for (target, analytic) in zip(targets, analyticGradients) {
            precondition(analytic.count == target.values.count, "\(target.label): gradient size mismatch")
            var coordinates = Array(0..<target.values.count)
            if let limit = maxCoordinatesPerTarget, coordinates.count > limit {
                coordinates.shuffle(using: &generator)
                coordinates = Array(coordinates.prefix(limit))
            }
            var differenceSquares = 0.0, analyticSquares = 0.0, numericSquares = 0.0
            var skipped = 0
            for i in coordinates {
                let original = target.values[i]
                target.values[i] = original + epsilon
                let plus = evaluate()
                target.values[i] = original - epsilon
                let minus = evaluate()
                target.values[i] = original
                // Divide by the step actually taken in Float, not the nominal one.
                let step = Double(original + epsilon) - Double(original - epsilon)
                let numeric = (plus - minus) / step
                if skipKinks {
                    let forward = (plus - baseline) / (step / 2), backward = (baseline - minus) / (step / 2)
                    let gap = abs(forward - backward)
                    if gap > noise && gap > kinkRelativeGap * max(abs(forward), abs(backward)) {
                        skipped += 1
                        continue
                    }
                }
                let a = Double(analytic[i])
                differenceSquares += (a - numeric) * (a - numeric)
                analyticSquares += a * a
                numericSquares += numeric * numeric
            }
            let analyticNorm = analyticSquares.squareRoot(), numericNorm = numericSquares.squareRoot()
            let scale = max(analyticNorm, numericNorm, normFloor)
            results.append(GradientCheckResult(
                label: target.label, relativeError: differenceSquares.squareRoot() / scale,
                differenceNorm: differenceSquares.squareRoot(),
                analyticNorm: analyticNorm, numericNorm: numericNorm,
                checkedCoordinates: coordinates.count - skipped, skippedKinks: skipped))
        }
        return results
    }

    /// Checks a single layer: L = Σ r·layer(x) with a fixed random projection r, with respect to the input
    /// and every tensor in `parameters` (all of the store's entries, or the ones named in `only`).
    static func layerResults(
        _ layer: any Layer, input: Tensor, training: Bool, parameters: ParameterStore?,
        epsilon: Float = 1e-2, maxCoordinatesPerTarget: Int? = nil,
        prepare: @escaping () -> Void = {}
    ) -> [GradientCheckResult] {
        prepare()
        let outputShape = layer.forward(input, training: training).shape
        let projection = TestData.uniform(shape: outputShape, in: -1, 1, seed: 99)
        var inputGradient: [Float] = []
        var targets = [GradientTarget(label: "input", values: input.storage, analytic: { inputGradient })]
        for entry in parameters?.entries ?? [] {
            targets.append(GradientTarget(label: entry.name, values: parameters!.values(of: entry),
                                          analytic: { Array(parameters!.gradients(of: entry)) }))
        }
        return run(
            targets: targets,
            evaluate: {
                prepare()
                let y = layer.forward(input, training: training)
                var total = 0.0
                for i in 0..<y.count { total += Double(y[i]) * Double(projection[i]) }
                return total
            },
            computeAnalytic: {
                prepare()
                parameters?.zeroGradients()
                _ = layer.forward(input, training: training)
                inputGradient = layer.backward(projection).values
            },
            epsilon: epsilon, maxCoordinatesPerTarget: maxCoordinatesPerTarget)
    }

    /// Checks a whole model end to end through the softmax cross-entropy loss.
    static func modelResults(
        _ model: Model, input: Tensor, labels: [Int], training: Bool,
        epsilon: Float = 1e-3, maxCoordinatesPerTarget: Int? = nil, dropoutSeed: UInt64 = 5
    ) -> [GradientCheckResult] {
        let loss = SoftmaxCrossEntropy()
        var inputGradient: [Float] = []
        var targets = [GradientTarget(label: "input", values: input.storage, analytic: { inputGradient })]
        for entry in model.parameters.entries {
            targets.append(GradientTarget(label: entry.name, values: model.parameters.values(of: entry),
                                          analytic: { Array(model.parameters.gradients(of: entry)) }))
        }
        return run(
            targets: targets,
            evaluate: {
                // Replaying the same dropout masks makes the loss a deterministic function of the inputs.
                model.reseedStochasticLayers(seed: dropoutSeed)
                return doublePrecisionCrossEntropy(model.forward(input, training: training), labels: labels)
            },
            computeAnalytic: {
                model.reseedStochasticLayers(seed: dropoutSeed)
                model.parameters.zeroGradients()
                _ = loss.loss(logits: model.forward(input, training: training), labels: labels)
                inputGradient = model.backward(loss.gradient()).values
            },
            epsilon: epsilon, maxCoordinatesPerTarget: maxCoordinatesPerTarget, skipKinks: true)
    }

    /// Mean cross-entropy evaluated in Double from Float logits: an independent reference for the loss and
    /// less round-off in the finite differences than the Float loss value.
    static func doublePrecisionCrossEntropy(_ logits: Tensor, labels: [Int]) -> Double {
        let batch = logits.shape[0], classes = logits.shape[1]
        var total = 0.0
        for n in 0..<batch {
            let row = (0..<classes).map { Double(logits[n * classes + $0]) }
            let largest = row.max()!
            total += log(row.reduce(0) { $0 + exp($1 - largest) }) + largest - row[labels[n]]
        }
        return total / Double(batch)
    }
}

/// Fails the test for every target with ‖a − n‖ > tolerance·max(‖a‖, ‖n‖) + absoluteTolerance·√k (k checked
/// coordinates; `absoluteTolerance` is the Float32 round-off allowed per numeric derivative, 0 for single
/// layers). With `requireSignal`, also fails a target whose gradient is numerically zero (a check of nothing).
func assertGradientsMatch(
    _ results: [GradientCheckResult], tolerance: Double, absoluteTolerance: Double = 0, requireSignal: Bool = true,
    _ context: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertFalse(results.isEmpty, "no gradient targets \(context)", file: file, line: line)
    for result in results {
        let bound = tolerance * max(result.analyticNorm, result.numericNorm)
            + absoluteTolerance * Double(result.checkedCoordinates).squareRoot()
        if absoluteTolerance == 0 {
            XCTAssertLessThanOrEqual(result.relativeError, tolerance, "\(context) \(result)", file: file, line: line)
        } else {
            XCTAssertLessThanOrEqual(result.differenceNorm, bound, "\(context) \(result)", file: file, line: line)
        }
        if requireSignal {
            XCTAssertGreaterThan(result.numericNorm, GradientCheck.normFloor, "\(context) vacuous check: \(result)", file: file, line: line)
        }
    }
}

extension Model {
    /// The parameter gradient of `loss` (cross-entropy on `labels`) after one inference-mode forward and backward
    /// from zeroed gradients; `loss` keeps the logits' gradient, for a second backward.
    func freshGradients(input: Tensor, labels: [Int], loss: SoftmaxCrossEntropy) -> [Float] {
        parameters.zeroGradients()
        _ = loss.loss(logits: forward(input, training: false), labels: labels)
        _ = backward(loss.gradient())
        return Array(parameters.gradients)
    }
}
