/// An `InnerProblem` from closures, for callers that would rather wire a trainer's forward/backward in place
/// than write a conforming type.
public struct ClosureInnerProblem: InnerProblem {
    /// (θ, step, gradient out) → loss.
    public typealias LossAndGradient =
        (UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) -> Float
    /// (θ, v, step, product out).
    public typealias HessianVectorProduct =
        (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) -> Void

    private let training: LossAndGradient
    private let validation: LossAndGradient
    private let hessianVectorProduct: HessianVectorProduct?

    /// Without `hessianVectorProduct`, second-order meta-gradients use the central-difference HVP of
    /// `training`.
    public init(
        training: @escaping LossAndGradient,
        validation: @escaping LossAndGradient,
        hessianVectorProduct: HessianVectorProduct? = nil
    ) {
        self.training = training
        self.validation = validation
        self.hessianVectorProduct = hessianVectorProduct
    }

    public func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        training(parameters, step, gradient)
    }

    public func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        validation(parameters, step, gradient)
    }

    public func trainingHessianVectorProduct(
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
