import CVectorKernels
import Kernels

/// Heavy-ball momentum, optionally Nesterov, in PyTorch's convention (no dampening).
///
/// Polyak, "Some methods of speeding up the convergence of iteration methods" (1964); Nesterov's variant as
/// reformulated by Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in
/// deep learning" (ICML 2013), in the form `torch.optim.SGD(momentum=β, nesterov=True)` uses.
///
///     m ← β·m + g
///     d = m              (heavy ball)
///     d = g + β·m        (Nesterov, with the updated m)
///
/// State: `firstMoment` = m. Jacobian: ∂m'/∂m = β·I, ∂m'/∂g = I; heavy ball ∂d/∂m = β·I, ∂d/∂g = I;
/// Nesterov ∂d/∂m = β²·I, ∂d/∂g = (1 + β)·I.
public struct Momentum: DirectionRule {
    /// Momentum coefficient β (0.9 by default, as in docs/method.md §2).
    public let beta: Float
    /// Use Nesterov's look-ahead direction d = g + β·m instead of d = m.
    public let nesterov: Bool

    public init(beta: Float = 0.9, nesterov: Bool = false) {
        self.beta = beta
        self.nesterov = nesterov
    }

    public var name: String { nesterov ? "nesterov" : "momentum" }
    public var weightDecayCoupling: WeightDecayCoupling { .coupledL2 }

    public var stateSlots: OptimizerStateSlots { .firstMoment }

    public func advance(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: inout OptimizerState,
                        into direction: UnsafeMutablePointer<Float>) {
        guard let g = checkedGradientStart(range, of: gradient, state: state) else { return }
        // In C (CVectorKernels), with restrict pointers and an AVX2 clone: the Swift loop, built for baseline
        // x86-64, was 1.2% of the optimizer bench's perf samples, the C one 0.8%.
        let (beta, nesterov) = (beta, Int32(nesterov ? 1 : 0))
        state.firstMoment.withUnsafeMutableBufferPointer { moment in
            let m = moment.baseAddress! + range.lowerBound
            // Element by element, so the pool's chunks give the serial loop's bits.
            WorkerPool.elementwise(count: range.count) { part in
                let at = part.lowerBound
                l3rs_momentum_advance(g + at, m + at, direction + at, part.count, beta, nesterov)
            }
        }
    }

    public var directionSource: DirectionSource { nesterov ? .rebuilt : .firstMoment }

    /// d = m (heavy ball) or g + β·m (Nesterov), with the m `advance` stored: the same single-precision
    /// operations as in `advance`.
    public func rebuildDirection(_ range: Range<Int>, gradient: UnsafeBufferPointer<Float>, state: OptimizerState,
                                 into direction: UnsafeMutablePointer<Float>) {
        guard let gradientBase = gradient.baseAddress, !range.isEmpty else { return }
        let beta = self.beta
        let g = gradientBase + range.lowerBound
        state.firstMoment.withUnsafeBufferPointer { moment in
            let m = moment.baseAddress! + range.lowerBound
            if nesterov {
                for i in 0..<range.count { direction[i] = g[i] + beta * m[i] }
            } else {
                direction.update(from: m, count: range.count)
            }
        }
    }
}

extension Momentum: DifferentiableDirectionRule {
    /// m' = β m + g; heavy ball d = m', Nesterov d = g + β m'.
    public func backpropagate(
        gradient: UnsafeBufferPointer<Float>, stateAfter: OptimizerState, directionAdjoint d̄: UnsafeBufferPointer<Float>,
        stateAdjoint s̄: inout OptimizerState, gradientAdjoint ḡ: UnsafeMutableBufferPointer<Float>
    ) {
        let β = beta
        let nesterov = self.nesterov
        s̄.firstMoment.withUnsafeMutableBufferPointer { m̄ in
            for i in 0..<d̄.count {
                let total = m̄[i] + (nesterov ? β * d̄[i] : d̄[i])
                ḡ[i] += total + (nesterov ? d̄[i] : 0)
                m̄[i] = β * total
            }
        }
    }
}
