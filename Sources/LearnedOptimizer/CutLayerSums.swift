import Optimizers

/// The sums of a layer cut between shards (sharded optimizer state), handed on so that every rank holding part
/// of it ends with the sums the replicated optimizer measures, bit for bit.
///
/// The replicated first pass adds a layer chunk by chunk (`FusedStepBuffers.chunkLength`) into one `LayerSums`
/// from zero. Each part of a cut layer starts at a chunk boundary of the layer, so: the rank holding the
/// layer's start sums its part as usual and sends those sums; every other rank sends one `LayerSums` per chunk
/// of its part, each from zero. Every rank then appends the parts in rank order (`SumOfSquares.append`, and
/// the dot products added chunk by chunk), which repeats the replicated additions in their order.
///
/// A rank's buffer: for each of its cut layers, [whole-table layer index, number of sums, the sums], each sum
/// the `serialise` of θ's, g's and every rule's direction's sums of squares, then the P dot products.
enum CutLayerSums {
    static func append(_ sums: LayerSums, to buffer: inout [Double]) {
        sums.parameters.serialise(into: &buffer)
        sums.gradient.serialise(into: &buffer)
        for direction in sums.directions { direction.serialise(into: &buffer) }
        buffer += sums.gradientDirectionDots
    }

    /// Appends to `sums` every part of layer `layer` (whole-table index) in `buffers`, in rank order.
    static func replay(layer: Int, from buffers: [[Double]], into sums: inout LayerSums) {
        for buffer in buffers {
            buffer.withUnsafeBufferPointer { values in
                var index = 0
                while index < values.count {
                    let owner = Int(values[index]), count = Int(values[index + 1])
                    index += 2
                    for _ in 0..<count {
                        index += read(UnsafeBufferPointer(rebasing: values[index...]), into: &sums, appends: owner == layer)
                    }
                }
            }
        }
    }

    /// Reads one serialised `LayerSums` and, if `appends`, adds it to `sums`; returns the values it spans.
    private static func read(_ values: UnsafeBufferPointer<Double>, into sums: inout LayerSums, appends: Bool) -> Int {
        func take(_ target: inout SumOfSquares, at index: Int) -> Int {
            guard appends else { return SumOfSquares.blockLength + 1 + Int(values[index + SumOfSquares.blockLength]) }
            return target.append(serialised: UnsafeBufferPointer(rebasing: values[index...]))
        }
        var index = take(&sums.parameters, at: 0)
        index += take(&sums.gradient, at: index)
        for p in sums.directions.indices { index += take(&sums.directions[p], at: index) }
        for p in sums.gradientDirectionDots.indices {
            if appends { sums.gradientDirectionDots[p] += values[index] }
            index += 1
        }
        return index
    }
}
