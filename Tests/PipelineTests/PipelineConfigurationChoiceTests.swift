import TestSupport
import XCTest
@testable import Pipeline

/// The pipeline's closed-set keys are refused at the YAML edge like meta-training's.
final class PipelineConfigurationChoiceTests: XCTestCase {
    func testMisspeltEstimatorIsRefusedWhenTheYAMLIsRead() {
        assertMisspeltChoicesRefused([("metaEstimator", "antitheticSE", "truncatedBackprop, antitheticES, pes", "antitheticES")],
                                     preamble: "", source: "pipeline.yaml") { _ = try PipelineConfiguration.load(yaml: $0, source: $1) }
    }

    /// List-valued keys with a known set of names (schedules, baselineOptimizers, ablations, ablationConditions)
    /// name the key, the entry, the known names and the nearest one.
    func testMisspeltListEntriesAreNamedWithTheNearestName() throws {
        let c = try PipelineConfiguration.load(yaml: "schedules: [constant, cosin]\nbaselineOptimizers: [adam, adma]\n"
                                               + "ablations: [mixingOnyl]\nablationConditions: [unsen]\n", source: "p.yaml")
        XCTAssertThrowsError(try c.validate()) { error in
            let text = String(describing: error)
            for fragment in [
                "schedules: unknown 'cosin'; known: constant, cosine, warmup-cosine, linear (did you mean 'cosine'?)",
                "baselineOptimizers: unknown 'adma'; known: sgd, momentum, nesterov, adam, adamw, lion, rmsprop (did you mean 'adam'?)",
                "ablations: unknown 'mixingOnyl'; known: stepSizeOnly, mixingOnly, embeddingFree (did you mean 'mixingOnly'?)",
                "ablationConditions: unknown 'unsen'; known: seen, unseen, another-init (did you mean 'unseen'?)",
            ] {
                XCTAssertTrue(text.contains(fragment), "\(fragment)\n\(text)")
            }
        }
    }
}
