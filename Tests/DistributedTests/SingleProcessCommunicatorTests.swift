import XCTest
@testable import Distributed

final class SingleProcessCommunicatorTests: XCTestCase {
    func testWorldOfOne() throws {
        let communicator = SingleProcessCommunicator()
        XCTAssertEqual(communicator.rank, 0)
        XCTAssertEqual(communicator.size, 1)
        var values: [Float] = [1, 2, 3]
        try communicator.allreduce(&values, op: .mean)
        XCTAssertEqual(values, [1, 2, 3])
        XCTAssertThrowsError(try communicator.broadcast(UnsafeMutableRawBufferPointer(start: nil, count: 0), root: 1))
    }
}
