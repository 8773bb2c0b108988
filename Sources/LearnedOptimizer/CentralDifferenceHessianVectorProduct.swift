/// H v ≈ (∇ℓ(θ + εv) − ∇ℓ(θ − εv)) / 2ε with ε = 1e-3·(1 + ‖θ‖)/‖v‖ (the DARTS choice): a Hessian-vector
/// product from two gradient evaluations, for models without forward-over-reverse differentiation.
///
/// The error is O(ε²) in the third derivative plus Float rounding of the gradients amplified by 1/ε; ε scales
/// with ‖θ‖ so the perturbation is a fixed relative size of the parameters.
public enum CentralDifferenceHessianVectorProduct {
    /// Relative size of the perturbation.
    public static let relativeStep: Double = 1e-3

    /// Writes H v into `product`; `gradient(θ', g)` must write ∇ℓ(θ') into g. A zero `vector` gives zero
    /// without evaluating gradients.
    public static func compute(
        parameters θ: UnsafeBufferPointer<Float>,
        vector v: UnsafeBufferPointer<Float>,
        into product: UnsafeMutableBufferPointer<Float>,
        gradient: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Float
    ) {
        let n = θ.count
        precondition(v.count == n && product.count == n, "HVP: parameter, vector and product counts differ")
        var parameterNormSquared = 0.0
        var vectorNormSquared = 0.0
        for i in 0..<n {
            parameterNormSquared += Double(θ[i]) * Double(θ[i])
            vectorNormSquared += Double(v[i]) * Double(v[i])
        }
        guard vectorNormSquared > 0 else {
            for i in 0..<n { product[i] = 0 }
            return
        }
        let ε = relativeStep * (1 + parameterNormSquared.squareRoot()) / vectorNormSquared.squareRoot()
        var shifted = [Float](repeating: 0, count: n)
        var plus = [Float](repeating: 0, count: n)
        var minus = [Float](repeating: 0, count: n)
        for i in 0..<n { shifted[i] = Float(Double(θ[i]) + ε * Double(v[i])) }
        shifted.withUnsafeBufferPointer { s in
            plus.withUnsafeMutableBufferPointer { _ = gradient(s, $0) }
        }
        for i in 0..<n { shifted[i] = Float(Double(θ[i]) - ε * Double(v[i])) }
        shifted.withUnsafeBufferPointer { s in
            minus.withUnsafeMutableBufferPointer { _ = gradient(s, $0) }
        }
        for i in 0..<n {
            product[i] = Float((Double(plus[i]) - Double(minus[i])) / (2 * ε))
        }
    }
}
