import XCTest
@testable import Network

/// `ParameterStore.borrowing`: a forward and backward at lent parameters, with the gradient written into a
/// lent buffer, are exactly those of the same parameters copied into the model, and leave the model's own
/// parameters and gradients as they were.
final class ParameterStoreBorrowingTests: XCTestCase {
    func testBorrowedParametersGiveTheCopiedParametersResultAndLeaveTheModelsOwn() {
        let model = ModelZoo.mlp(inputShape: [1, 4, 4], hiddenWidths: [8], classCount: 3, seed: 1)
        let own = Array(model.parameters.values)
        let lent = ModelZoo.mlp(inputShape: [1, 4, 4], hiddenWidths: [8], classCount: 3, seed: 2).parameters.values.map { $0 }
        XCTAssertNotEqual(own, lent)
        let input = Tensor(shape: [2, 1, 4, 4], values: (0..<32).map { Float($0 % 7) / 7 - 0.4 })
        let gradLogits = Tensor(shape: [2, 3], values: [0.3, -0.2, -0.1, -0.5, 0.25, 0.25])

        var lentGradient = [Float](repeating: 0, count: lent.count)
        let borrowedLogits = lent.withUnsafeBufferPointer { θ in
            lentGradient.withUnsafeMutableBufferPointer { g in
                model.parameters.borrowing(values: θ, gradients: g) {
                    let logits = Array(model.forward(input, training: true).storage)
                    model.accumulateParameterGradients(gradLogits)
                    return logits
                }
            }
        }
        XCTAssertEqual(Array(model.parameters.values), own, "the model's own parameters changed")
        XCTAssertTrue(model.parameters.gradients.allSatisfy { $0 == 0 }, "the gradient went into the model's own buffer")

        lent.withUnsafeBufferPointer { model.parameters.values.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        let copiedLogits = Array(model.forward(input, training: true).storage)
        model.accumulateParameterGradients(gradLogits)
        XCTAssertEqual(borrowedLogits, copiedLogits)
        XCTAssertEqual(lentGradient, Array(model.parameters.gradients))
        XCTAssertTrue(lentGradient.contains { $0 != 0 })
    }
}
