import XCTest
@testable import Kernels

final class BLASInfoTests: XCTestCase {
    func testCoreNameIsReported() {
        XCTAssertFalse(BLASInfo.coreName.isEmpty)
        XCTAssertGreaterThanOrEqual(BLASInfo.threadCount, 1)
    }
}
