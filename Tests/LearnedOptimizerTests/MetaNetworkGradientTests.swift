import XCTest
@testable import LearnedOptimizer

/// The MLP's reverse mode against central finite differences of S = Σ w ⊙ MLP(f) with random φ, f and w.
/// FD step 1e-2; tolerance |analytic − FD| ≤ 1e-3·|FD| + 1e-4·max|FD|.
final class MetaNetworkGradientTests: XCTestCase {
    func testBackwardMatchesFiniteDifferences() {
        let configuration = L3RSConfiguration(seed: 9)
        let layerCount = 3
        var φ = MetaParameters(initialFor: configuration, layerCount: layerCount).values
        let layout = MetaNetworkLayout(configuration: configuration, layerCount: layerCount)
        var generator = TestGenerator(seed: 21)
        for i in 0..<φ.count { φ[i] = Float(generator.uniform(0.4)) }
        var features = (0..<(layerCount * layout.inputCount)).map { _ in Float(generator.uniform(2)) }
        let weights = (0..<(layerCount * layout.outputCount)).map { _ in Float(generator.uniform(1)) }

        func objective(_ φ: [Float], _ features: [Float]) -> Double {
            var h1 = [Float](repeating: 0, count: layerCount * layout.hiddenWidth)
            var h2 = h1
            var outputs = [Float](repeating: 0, count: layerCount * layout.outputCount)
            φ.withUnsafeBufferPointer { p in
                features.withUnsafeBufferPointer { f in
                    h1.withUnsafeMutableBufferPointer { a in
                        h2.withUnsafeMutableBufferPointer { b in
                            outputs.withUnsafeMutableBufferPointer { o in
                                MetaNetwork.forward(parameters: p, layout: layout, features: f,
                                                    hidden1: a, hidden2: b, outputs: o)
                            }
                        }
                    }
                }
            }
            return zip(weights, outputs).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }

        var h1 = [Float](repeating: 0, count: layerCount * layout.hiddenWidth)
        var h2 = h1
        var outputs = [Float](repeating: 0, count: layerCount * layout.outputCount)
        var φ̄ = [Float](repeating: 0, count: φ.count)
        var f̄ = [Float](repeating: 0, count: features.count)
        φ.withUnsafeBufferPointer { p in
            features.withUnsafeBufferPointer { f in
                h1.withUnsafeMutableBufferPointer { a in
                    h2.withUnsafeMutableBufferPointer { b in
                        outputs.withUnsafeMutableBufferPointer { o in
                            MetaNetwork.forward(parameters: p, layout: layout, features: f, hidden1: a, hidden2: b,
                                                outputs: o)
                        }
                        weights.withUnsafeBufferPointer { w in
                            φ̄.withUnsafeMutableBufferPointer { pa in
                                f̄.withUnsafeMutableBufferPointer { fa in
                                    MetaNetwork.backward(
                                        parameters: p, layout: layout, features: f,
                                        hidden1: UnsafeBufferPointer(a), hidden2: UnsafeBufferPointer(b),
                                        outputAdjoints: w, parameterAdjoints: pa, featureAdjoints: fa)
                                }
                            }
                        }
                    }
                }
            }
        }

        let h: Float = 1e-2
        var checks: [(String, Double, Double)] = []
        for index in stride(from: 0, to: layout.embeddingOffset, by: 7) {
            var plus = φ, minus = φ
            plus[index] += h
            minus[index] -= h
            let fd = (objective(plus, features) - objective(minus, features)) / Double(plus[index] - minus[index])
            checks.append(("φ[\(index)]", Double(φ̄[index]), fd))
        }
        for index in 0..<features.count {
            let original = features[index]
            features[index] = original + h
            let up = objective(φ, features)
            features[index] = original - h
            let down = objective(φ, features)
            features[index] = original
            checks.append(("f[\(index)]", Double(f̄[index]), (up - down) / Double(2 * h)))
        }
        let scale = checks.map { abs($0.2) }.max()!
        for (name, analytic, fd) in checks {
            XCTAssertEqual(analytic, fd, accuracy: 1e-3 * abs(fd) + 1e-4 * scale, name)
        }
        XCTAssertTrue(φ̄[layout.embeddingOffset...].allSatisfy { $0 == 0 }, "the MLP does not touch embeddings")
    }
}
