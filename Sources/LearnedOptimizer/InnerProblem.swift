/// The inner training problem a truncation unrolls, as the meta-gradient needs it.
///
/// The real trainer conforms with model forward/backward plus the gradient allreduce (each rank returns the
/// global mean); tests conform with small closed-form problems. Calls must be deterministic in
/// (parameters, step): the recompute memory mode re-evaluates them and relies on identical answers.
///
/// Data parallel: the training loss, gradient and HVP must be the global (allreduced) ones on every rank,
/// because the forward step and the Hessian products must agree across ranks. The reverse pass is linear in
/// the validation seeds, so `validationLossAndGradient` may return the rank's own shard term (scaled so the
/// ranks' terms sum, or average, to the global one) and the meta-gradient is then allreduced the same way.
public protocol InnerProblem {
    /// ℓ(θ; B_step), the training loss of the batch of inner step `step`, with its gradient written into
    /// `gradient`.
    func trainingLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float

    /// ℓ_val(θ; V_step), the meta-validation loss at the parameters reached after `step` steps, with its
    /// gradient.
    func validationLossAndGradient(
        parameters: UnsafeBufferPointer<Float>, step: Int, gradient: UnsafeMutableBufferPointer<Float>
    ) -> Float

    /// H v, the Hessian of the training loss of step `step`'s batch at θ times `vector` (second-order
    /// meta-gradients only). Defaults to a central difference of two training gradients.
    func trainingHessianVectorProduct(
        parameters: UnsafeBufferPointer<Float>, vector: UnsafeBufferPointer<Float>, step: Int,
        into product: UnsafeMutableBufferPointer<Float>
    )
}

extension InnerProblem {
    public func trainingHessianVectorProduct(
        parameters: UnsafeBufferPointer<Float>, vector: UnsafeBufferPointer<Float>, step: Int,
        into product: UnsafeMutableBufferPointer<Float>
    ) {
        CentralDifferenceHessianVectorProduct.compute(parameters: parameters, vector: vector, into: product) {
            trainingLossAndGradient(parameters: $0, step: step, gradient: $1)
        }
    }
}
