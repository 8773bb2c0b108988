import XCTest
@testable import Network

/// PyTorch's default initialisation bounds, reproduced deterministically from a seed.
final class InitializationTests: XCTestCase {
    func testSameSeedSameModelDifferentSeedDifferentModel() {
        let a = ModelZoo.ccexamUSPS(seed: 42), b = ModelZoo.ccexamUSPS(seed: 42), c = ModelZoo.ccexamUSPS(seed: 43)
        XCTAssertEqual(Array(a.parameters.values), Array(b.parameters.values))
        XCTAssertEqual(Array(a.buffers.values), Array(b.buffers.values))
        XCTAssertNotEqual(Array(a.parameters.values), Array(c.parameters.values))
    }

    func testPyTorchDefaultBounds() {
        let model = ModelZoo.ccexamUSPS(seed: 7)
        for entry in model.parameters.entries {
            let values = Array(model.parameters.values(of: entry))
            switch entry.kind {
            case .convWeight, .linearWeight, .bias:
                let expectedFanIn = entry.kind == .bias
                    ? model.parameters.entry(named: entry.name.replacingOccurrences(of: ".bias", with: ".weight"))!.shape.dropFirst().reduce(1, *)
                    : entry.shape.dropFirst().reduce(1, *)
                XCTAssertEqual(entry.fanIn, expectedFanIn, entry.name)
                let bound = 1 / Float(expectedFanIn).squareRoot()
                XCTAssertTrue(values.allSatisfy { abs($0) <= bound }, "\(entry.name) within ±1/√fan_in")
                if values.count >= 100 {
                    // Uniform over the whole interval: extremes near the bound, mean near 0, variance b²/3.
                    XCTAssertGreaterThan(values.map { abs($0) }.max()!, 0.95 * bound, entry.name)
                    let mean = values.reduce(0, +) / Float(values.count)
                    XCTAssertLessThan(abs(mean), 0.1 * bound, entry.name)
                    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
                    XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.1 * bound * bound, entry.name)
                }
            case .normScale:
                XCTAssertTrue(values.allSatisfy { $0 == 1 }, entry.name)
            case .normShift:
                XCTAssertTrue(values.allSatisfy { $0 == 0 }, entry.name)
            case .runningMean, .runningVariance, .batchCount:
                XCTFail("buffer kind \(entry.kind) in the parameter store")
            }
        }
        for entry in model.buffers.entries {
            let values = Array(model.buffers.values(of: entry))
            let expected: Float = entry.kind == .runningVariance ? 1 : 0
            XCTAssertTrue(values.allSatisfy { $0 == expected }, entry.name)
            XCTAssertFalse(entry.kind.isTrainable)
        }
    }

    func testReinitializingTheHeadTouchesOnlyTheHead() {
        let model = ModelZoo.ccexamMNIST(seed: 1)
        let before = Array(model.parameters.values)
        model.reinitialize(parameterNames: model.headParameterNames, seed: 99)
        let after = Array(model.parameters.values)
        for entry in model.parameters.entries {
            let changed = before[entry.range] != after[entry.range]
            XCTAssertEqual(changed, model.headParameterNames.contains(entry.name), entry.name)
        }
        XCTAssertEqual(model.headEntries.map(\.name), model.headParameterNames)
    }

    func testParameterStoreViewsAndZeroing() {
        let store = ParameterStore()
        let a = store.register(name: "a", shape: [2, 3], kind: .linearWeight, fanIn: 3)
        let b = store.register(name: "b", shape: [2], kind: .bias, fanIn: 3)
        XCTAssertFalse(store.isAllocated)
        store.allocate()
        XCTAssertEqual(store.count, 8)
        XCTAssertEqual(b.offset, 6)
        XCTAssertEqual(store.entry(named: "b"), b)
        XCTAssertNil(store.entry(named: "c"))
        store.values(of: b)[1] = 5
        XCTAssertEqual(store.values[7], 5)
        store.gradients(of: a)[0] = 3
        XCTAssertEqual(store.gradients[0], 3)
        store.zeroGradients()
        XCTAssertTrue(store.gradients.allSatisfy { $0 == 0 })
        XCTAssertEqual(store.values[7], 5, "zeroing gradients leaves values alone")
    }
}
