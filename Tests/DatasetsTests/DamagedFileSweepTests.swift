import TestSupport
import XCTest
@testable import Datasets

/// Every truncation of the small fixtures must be a clear error, never a crash or a silently shorter dataset.
final class DamagedFileSweepTests: XCTestCase {
    func testTruncatedFixtures() throws {
        let folder = try testFiles.scratch()
        for name in ["tiny-images-idx3-ubyte.gz", "tiny-labels-idx1-ubyte", "train_images.npy", "float-images.npy", "tiny-digits.csv.gz"] {
            let good = try testFiles.readBytes(testFiles.fixture(name))
            for length in 0..<good.count {
                let path = folder + "/\(length)-" + name
                try testFiles.write(Array(good.prefix(length)), path)
                do {
                    if name.hasSuffix(".npy") {
                        _ = try NPYArray.read(path)
                    } else if name.hasSuffix(".csv.gz") {
                        _ = try Dataset.readCSVDigits(path, name: "d", side: 2, pixelMaximum: 16, classCount: 10)
                    } else {
                        _ = try IDXArray.read(path)
                    }
                    XCTFail("\(name) cut to \(length) bytes was accepted")
                } catch let error as DatasetError {
                    XCTAssertTrue(error.description.contains(path), "\(error) names the file")
                }
            }
        }
    }
}
