import XCTest
@testable import Datasets

final class DatasetsModuleTests: XCTestCase {
    func testModuleLinks() { _ = DatasetsModule.self }
}
