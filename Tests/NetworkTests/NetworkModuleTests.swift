import XCTest
@testable import Network

final class NetworkModuleTests: XCTestCase {
    func testModuleLinks() { _ = NetworkModule.self }
}
