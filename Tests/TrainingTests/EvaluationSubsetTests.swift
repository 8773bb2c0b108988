import Datasets
import Network
import TestSupport
import Training
import XCTest

/// A limited evaluation set (evaluationLimit, the curves' curveEvaluationLimit) must hold every class: the
/// single-split datasets are stored sorted by class and their seeded test split keeps that order, so the first N
/// images of animal-mnist's test split were classes 0–4 only.
final class EvaluationSubsetTests: XCTestCase {
    func testEvaluationSubsetsCoverEveryClass() throws {
        var configuration = TrainingConfiguration()
        configuration.data = "animal-mnist"
        configuration.dataDirectory = MPIRun.dataDirectory
        let model = try ModelZoo.make(named: "ccexam-mnist", classCount: 10, seed: 0)
        let whole = try DataSplits.load(for: configuration, model: model).evaluation
        XCTAssertEqual(whole.count, 2000)
        XCTAssertEqual(Set(whole.labels.prefix(200)).count, 1, "the split is class-sorted, which this test is about")

        configuration.evaluationLimit = 200
        let limited = try DataSplits.load(for: configuration, model: model).evaluation
        XCTAssertEqual(limited.count, 200)
        var perClass = [Int](repeating: 0, count: 10)
        for label in limited.labels { perClass[Int(label)] += 1 }
        for (label, count) in perClass.enumerated() {
            XCTAssertEqual(Double(count), 200 * Double(whole.labels.filter { Int($0) == label }.count) / 2000,
                           accuracy: 1.5, "class \(label): \(perClass)")
        }
    }

    func testEvenlySpreadIsDeterministicAndKeepsSmallSets() throws {
        let images = [Float](repeating: 0, count: 10 * 4)
        let labels: [Int32] = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        let set = try Dataset(name: "t", images: images, labels: labels, channels: 1, height: 2, width: 2, classCount: 2,
                              pixelMaximum: 1)
        XCTAssertEqual(set.evenlySpread(limit: 4).labels, [0, 0, 1, 1])
        XCTAssertEqual(set.evenlySpread(limit: 10).labels, labels)
        XCTAssertEqual(set.evenlySpread(limit: 50).count, 10)
    }
}
