extension L3RSOptimizer {
    /// The recorded step's update: θ_l ← θ_l − λ_l Σ_p w_l,p d_l,p (w = μ·s, so Σ_p μ_l,p d̂_l,p) with the λ, w
    /// and the recorded directions d of the last `prepareStep`, one whole layer at a time.
    mutating func applyUpdate(to θ: UnsafeMutableBufferPointer<Float>) {
        let baseCount = rules.count
        let n = parameterCount
        let recordedDirections = activations.directions
        precondition(recordedDirections.count == baseCount * n, "L3RS applyUpdate without prepareStep")
        var buffers = FusedStepBuffers()
        swap(&buffers, &self.buffers)
        defer { swap(&buffers, &self.buffers) }
        recordedDirections.withUnsafeBufferPointer { recorded in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: baseCount) { directions in
                buffers.withScratch { chunks, _, _ in
                    for (l, layer) in layers.enumerated() {
                        for p in 0..<baseCount { directions[p] = recorded.baseAddress! + p * n + layer.offset }
                        subtractMixture(layer: l, from: θ.baseAddress! + layer.offset, count: layer.count,
                                        directions: directions.baseAddress!,
                                        mixture: chunks + baseCount * FusedStepBuffers.chunkLength)
                    }
                }
            }
        }
    }

    /// P·n floats for the recorded directions, left unwritten where the layers lie (the first pass writes
    /// every element there) and zero in the gaps between layers.
    static func uninitialisedDirections(baseCount: Int, count n: Int, layers: [LayerSlice]) -> [Float] {
        let sorted = layers.sorted { $0.offset < $1.offset }
        return [Float](unsafeUninitializedCapacity: baseCount * n) { buffer, initialised in
            for p in 0..<baseCount {
                var covered = 0
                for layer in sorted {
                    buffer.baseAddress!.advanced(by: p * n + covered)
                        .initialize(repeating: 0, count: layer.offset - covered)
                    covered = layer.range.upperBound
                }
                buffer.baseAddress!.advanced(by: p * n + covered).initialize(repeating: 0, count: n - covered)
            }
            initialised = baseCount * n
        }
    }
}
