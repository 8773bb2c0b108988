import XCTest
@testable import Checkpoints

final class CheckpointsModuleTests: XCTestCase {
    func testModuleLinks() { _ = CheckpointsModule.self }
}
