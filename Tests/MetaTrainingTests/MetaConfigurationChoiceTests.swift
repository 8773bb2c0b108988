import Choices
import LearnedOptimizer
import TestSupport
import XCTest
@testable import MetaTraining

/// The closed-set keys of a meta-training configuration: a misspelt value is refused where the YAML is read,
/// naming the file, the key, the value, the allowed values and the nearest one.
final class MetaConfigurationChoiceTests: XCTestCase {
    func testMisspeltValuesAreRefusedWhenTheYAMLIsRead() {
        assertMisspeltChoicesRefused([
            ("memory", "recompte", "auto, store, recompute", "recompute"),
            ("order", "secondorder", "firstOrder, secondOrder", "secondOrder"),
            ("variant", "kindAndDeph", "layerEmbedding, kindAndDepth", "kindAndDepth"),
            ("learnedOutputs", "mixingOnyl", "stepSizeAndMixing, stepSizeOnly, mixingOnly", "mixingOnly"),
            ("metaLossWeighting", "finale", "uniform, linear, final", "final"),
            ("estimator", "antitheticEs", "truncatedBackprop, antitheticES, pes", "antitheticES"),
            ("directionScale", "adma", "unit, adam", "adam"),
        ], preamble: "metaSteps: 3\n", source: "meta.yaml") { _ = try MetaTrainingConfiguration.load(yaml: $0, source: $1) }
    }

    func testMemoryModeRoundTripsThroughYAML() throws {
        var configuration = MetaTrainingConfiguration()
        configuration.memory = .recompute
        let yaml = try configuration.yaml()
        XCTAssertTrue(yaml.contains("memory: recompute"), yaml)
        XCTAssertEqual(try MetaTrainingConfiguration.load(yaml: yaml, source: "round trip"), configuration)
        XCTAssertEqual(try MetaTrainingConfiguration.load(yaml: "", source: "empty").memory, .auto)
    }

    /// A learned optimizer's saved configuration (safetensors metadata) gets the same message for a bad variant.
    func testSavedLearnedOptimizerConfigurationNamesABadVariant() throws {
        let json = try L3RSConfiguration().encodedJSON().replacingOccurrences(of: "\"layerEmbedding\"", with: "\"layerEmbeding\"")
        XCTAssertThrowsError(try L3RSConfiguration.decode(json: json)) { error in
            guard case let DecodingError.dataCorrupted(context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.debugDescription,
                           "variant must be one of layerEmbedding, kindAndDepth, got 'layerEmbeding' (did you mean 'layerEmbedding'?)")
        }
    }

    /// directionScale adam needs a base whose RMS it can scale to: a rule of SGD and momentum alone is refused
    /// by `validate`, naming the key; with adam (or adamw) among the bases it is valid.
    func testAdamDirectionScaleWithoutAdamIsRefused() throws {
        var configuration = MetaTrainingConfiguration()
        configuration.directionScale = .adam
        configuration.baseOptimizers = [.sgd, .momentum]
        XCTAssertThrowsError(try configuration.validate()) { error in
            XCTAssertTrue(String(describing: error).contains("directionScale adam"), String(describing: error))
        }
        configuration.baseOptimizers = [.sgd, .adamw]
        XCTAssertNoThrow(try configuration.validate())
    }
}
