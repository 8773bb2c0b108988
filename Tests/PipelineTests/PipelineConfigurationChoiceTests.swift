import XCTest
@testable import Pipeline

/// The pipeline's closed-set keys are refused at the YAML edge like meta-training's.
final class PipelineConfigurationChoiceTests: XCTestCase {
    func testMisspeltEstimatorIsRefusedWhenTheYAMLIsRead() {
        XCTAssertThrowsError(try PipelineConfiguration.load(yaml: "metaEstimator: antitheticSE\n", source: "pipeline.yaml")) { error in
            XCTAssertEqual(String(describing: error), "pipeline.yaml: metaEstimator must be one of truncatedBackprop, antitheticES, "
                           + "got 'antitheticSE' (did you mean 'antitheticES'?)")
        }
    }
}
