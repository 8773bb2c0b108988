import CVectorKernels
import Optimizers

extension L3RSOptimizer {
    /// The second pass of the fused `step`: the update of `applyUpdate`, bit for bit, without all P
    /// directions in memory. Chunk by chunk, each direction is read where its rule's `directionSource` says
    /// (g, the advanced first moment, rebuilt into scratch, or `buffers.storedDirections`).
    mutating func applyFusedUpdate(to θ: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>,
                                   state: L3RSState) {
        let baseCount = rules.count
        var buffers = FusedStepBuffers()
        swap(&buffers, &self.buffers)
        defer { swap(&buffers, &self.buffers) }
        let (sources, storageSlot) = (buffers.sources, buffers.storageSlot)
        // [first moments (P) | this chunk's directions (P)].
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 2 * baseCount) { pointers in
            let firstMoments = UnsafeMutableBufferPointer(rebasing: pointers[0..<baseCount])
            Self.withFirstMoments(state.baseStates, from: 0, into: firstMoments) {
                buffers.withScratch { chunks, stored, _ in
                    let finder = DirectionFinder(
                        sources: sources, storageSlot: storageSlot, gradient: g,
                        firstMoments: UnsafePointer(pointers.baseAddress!), stored: stored, chunks: chunks,
                        parameterCount: parameterCount)
                    for (l, layer) in layers.enumerated() {
                        applyFusedUpdate(layer: l, layer.range, to: θ, state: state, finder: finder,
                                         directions: pointers.baseAddress! + baseCount)
                    }
                }
            }
        }
    }

    /// One layer of the second pass, chunk by chunk: find every direction (`DirectionFinder`), then subtract
    /// the mixture.
    private func applyFusedUpdate(
        layer l: Int, _ layerRange: Range<Int>, to θ: UnsafeMutableBufferPointer<Float>, state: L3RSState,
        finder: DirectionFinder, directions: UnsafeMutablePointer<UnsafePointer<Float>?>
    ) {
        let chunkLength = FusedStepBuffers.chunkLength
        for start in stride(from: layerRange.lowerBound, to: layerRange.upperBound, by: chunkLength) {
            let range = start..<min(start + chunkLength, layerRange.upperBound)
            for p in rules.indices {
                directions[p] = finder.direction(rule: p, range) { scratch in
                    rules[p].rebuildDirection(range, gradient: finder.gradient, state: state.baseStates[p], into: scratch)
                }
            }
            subtractMixture(layer: l, from: θ.baseAddress! + start, count: range.count, directions: directions,
                            mixture: finder.chunks + rules.count * chunkLength)
        }
    }

    /// Runs `body` with `pointers[p]` the base address of state p's first moment (nil where the slot is
    /// empty) for p ≥ `index`, each valid for the whole call: nested `withUnsafeBufferPointer`s, one per state.
    private static func withFirstMoments(
        _ states: [OptimizerState], from index: Int, into pointers: UnsafeMutableBufferPointer<UnsafePointer<Float>?>,
        _ body: () -> Void
    ) {
        guard index < states.count else { return body() }
        states[index].firstMoment.withUnsafeBufferPointer { moment in
            pointers[index] = moment.isEmpty ? nil : moment.baseAddress
            withFirstMoments(states, from: index + 1, into: pointers, body)
        }
    }

    /// θ[i] −= λ_l·((w_l,0·d_0[i] + w_l,1·d_1[i]) + …) for `count` elements, in base order, with the weights
    /// w = μ·s of the last prepared step, which fold the normalisation s = 1/(rms + ε) into the mixing
    /// weight. Up to three bases in one pass; more accumulate base by base in `mixture` (≥ chunkLength floats).
    func subtractMixture(
        layer l: Int, from θ: UnsafeMutablePointer<Float>, count: Int,
        directions d: UnsafeMutablePointer<UnsafePointer<Float>?>, mixture: UnsafeMutablePointer<Float>
    ) {
        let baseCount = rules.count
        let λ = activations.stepSizes[l]
        activations.directionWeights.withUnsafeBufferPointer { weights in
            let w = weights.baseAddress! + l * baseCount
            guard baseCount > 3 else {
                // In C, for its AVX2 clone; the same operations in the same order.
                return l3rs_subtract_mixture(θ, count, λ, baseCount, w, d)
            }
            // In chunks, so that `mixture` (chunkLength floats) also serves a whole layer of applyUpdate.
            let chunkLength = FusedStepBuffers.chunkLength
            for start in stride(from: 0, to: count, by: chunkLength) {
                let length = min(chunkLength, count - start)
                let (w0, d0) = (w[0], d[0]! + start)
                for i in 0..<length { mixture[i] = w0 * d0[i] }
                for p in 1..<baseCount {
                    let (wp, dp) = (w[p], d[p]! + start)
                    for i in 0..<length { mixture[i] += wp * dp[i] }
                }
                let target = θ + start
                for i in 0..<length { target[i] -= λ * mixture[i] }
            }
        }
    }
}
