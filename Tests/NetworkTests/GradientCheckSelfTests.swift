import XCTest
@testable import Network

/// The gradient checker must catch wrong backward passes, or every other gradient test means nothing.
final class GradientCheckSelfTests: XCTestCase {
    /// A Linear whose backward is wrong in a chosen way.
    private final class BrokenLinear: Layer {
        enum Fault { case inputGradientScaled, biasGradientDropped }
        let inner: Linear
        let fault: Fault
        let parameters: ParameterStore
        init(_ inner: Linear, fault: Fault, parameters: ParameterStore) {
            self.inner = inner
            self.fault = fault
            self.parameters = parameters
        }
        func forward(_ x: Tensor, training: Bool) -> Tensor { inner.forward(x, training: training) }
        func backward(_ gradOutput: Tensor) -> Tensor {
            let dx = inner.backward(gradOutput)
            switch fault {
            case .inputGradientScaled:
                for i in 0..<dx.count { dx[i] *= 1.05 }
            case .biasGradientDropped:
                parameters.gradients(of: inner.bias!).initialize(repeating: 0)
            }
            return dx
        }
    }

    private func results(for fault: BrokenLinear.Fault) -> [String: Double] {
        let registry = ParameterRegistry()
        let linear = Linear(name: "fc", inputFeatures: 4, outputFeatures: 3, registry: registry)
        registry.allocate()
        TestData.randomize(registry.parameters, seed: 1)
        let broken = BrokenLinear(linear, fault: fault, parameters: registry.parameters)
        let x = TestData.uniform(shape: [2, 4], in: -1, 1, seed: 2)
        let checked = GradientCheck.layerResults(broken, input: x, training: true, parameters: registry.parameters)
        return Dictionary(uniqueKeysWithValues: checked.map { ($0.label, $0.relativeError) })
    }

    func testDetectsA5PercentInputGradientError() {
        let errors = results(for: .inputGradientScaled)
        XCTAssertGreaterThan(errors["input"]!, 2e-2)
        XCTAssertLessThan(errors["fc.weight"]!, 2e-2)
    }

    func testDetectsAMissingParameterGradient() {
        let errors = results(for: .biasGradientDropped)
        XCTAssertGreaterThan(errors["fc.bias"]!, 0.5)
        XCTAssertLessThan(errors["input"]!, 2e-2)
    }

    /// The correct layer passes far below the tolerance (the margin is what makes the tests meaningful).
    func testCorrectLinearIsWellInsideTolerance() {
        let registry = ParameterRegistry()
        let linear = Linear(name: "fc", inputFeatures: 4, outputFeatures: 3, registry: registry)
        registry.allocate()
        TestData.randomize(registry.parameters, seed: 1)
        let x = TestData.uniform(shape: [2, 4], in: -1, 1, seed: 2)
        for result in GradientCheck.layerResults(linear, input: x, training: true, parameters: registry.parameters) {
            XCTAssertLessThan(result.relativeError, 2e-3, "\(result)")
        }
    }
}
