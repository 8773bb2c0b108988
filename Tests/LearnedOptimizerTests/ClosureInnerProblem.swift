import LearnedOptimizer

/// An `InnerProblem` from closures, for tests that would rather wire a closed-form problem in place than
/// write a conforming type. Test-only: the real inner problem is MetaTraining's `ModelInnerProblem`.
struct ClosureInnerProblem: InnerProblem {
    /// (θ, step, gradient out) → loss.
    typealias LossAndGradient =
        (UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) -> Float
    /// (θ, v, step, product out).
    typealias HessianVectorProduct =
        (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) -> Void

    private let training: LossAndGradient
    private let validation: LossAndGradient
    private let hessianVectorProduct: HessianVectorProduct?

    /// Without `hessianVectorProduct`, second-order meta-gradients use the central-difference HVP of
    /// `training`.
    init(
        training: @escaping LossAndGradient,
        validation: @escaping LossAndGradient,
        hessianVectorProduct: HessianVectorProduct? = nil
    ) {
        self.training = training
        self.validation = validation
        self.hessianVectorProduct = hessianVectorProduct
    }

    func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        training(parameters, step, gradient)
    }

    func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        validation(parameters, step, gradient)
    }

    func trainingHessianVectorProduct(
        parameters: UnsafeBufferPointer<Float>, vector: UnsafeBufferPointer<Float>, step: Int,
        into product: UnsafeMutableBufferPointer<Float>
    ) {
        if let hessianVectorProduct {
            hessianVectorProduct(parameters, vector, step, product)
        } else {
            CentralDifferenceHessianVectorProduct.compute(parameters: parameters, vector: vector, into: product) {
                training($0, step, $1)
            }
        }
    }
}
