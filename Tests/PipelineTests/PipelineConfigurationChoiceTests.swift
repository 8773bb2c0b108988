import TestSupport
import XCTest
@testable import Pipeline

/// The pipeline's closed-set keys are refused at the YAML edge like meta-training's.
final class PipelineConfigurationChoiceTests: XCTestCase {
    func testMisspeltEstimatorIsRefusedWhenTheYAMLIsRead() {
        assertMisspeltChoicesRefused([("metaEstimator", "antitheticSE", "truncatedBackprop, antitheticES, pes", "antitheticES")],
                                     preamble: "", source: "pipeline.yaml") { _ = try PipelineConfiguration.load(yaml: $0, source: $1) }
    }

    /// The optimizer and schedule lists and the optimizer-keyed mappings are enums: a misspelt entry or key is
    /// refused when the YAML is read, naming its place, every allowed value and the nearest one.
    func testMisspeltOptimizersAndSchedulesAreRefusedWhenTheYAMLIsRead() {
        let optimizers = "sgd, momentum, nesterov, adam, adamw, lion, rmsprop"
        for (yaml, message) in [
            ("schedules: [constant, cosin]", "schedules[1] must be one of constant, cosine, warmup-cosine, linear, got 'cosin' (did you mean 'cosine'?)"),
            ("baselineOptimizers: [adam, adma]", "baselineOptimizers[1] must be one of \(optimizers), got 'adma' (did you mean 'adam'?)"),
            ("learningRateGrids: {adma: [0.001]}", "learningRateGrids key must be one of \(optimizers), got 'adma' (did you mean 'adam'?)"),
            ("weightDecays: {adamW: 0.01, lino: 0}", "weightDecays key must be one of \(optimizers), got 'lino' (did you mean 'lion'?)"),
        ] {
            XCTAssertThrowsError(try PipelineConfiguration.load(yaml: yaml + "\n", source: "p.yaml"), yaml) { error in
                XCTAssertEqual(String(describing: error), "p.yaml: " + message)
            }
        }
        // The YAML spelling is unchanged (and, like the command line, case-insensitive for optimizer names).
        XCTAssertEqual(try PipelineConfiguration.load(yaml: "weightDecays: {AdamW: 0.02}\nschedules: [warmup-cosine]\n",
                                                      source: "p.yaml").weightDecays[.adamw], 0.02)
    }

    /// List-valued keys with a known set of names that are not enums (ablations, ablationConditions) name the
    /// key, the entry, the known names and the nearest one.
    func testMisspeltListEntriesAreNamedWithTheNearestName() throws {
        let c = try PipelineConfiguration.load(yaml: "ablations: [mixingOnyl]\nablationConditions: [unsen]\n", source: "p.yaml")
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            for fragment in [
                "ablations: unknown 'mixingOnyl'; known: stepSizeOnly, mixingOnly, embeddingFree (did you mean 'mixingOnly'?)",
                "ablationConditions: unknown 'unsen'; known: seen, unseen, another-init (did you mean 'unseen'?)",
            ] {
                XCTAssertTrue(text.contains(fragment), "\(fragment)\n\(text)")
            }
        }
    }
}
