extension Communicator {
    /// In-place sum over ranks that is bitwise identical on every rank and does not depend on the order in
    /// which MPI combines contributions: each rank writes its values into its own slot of a size × count
    /// buffer of zeros (adding zeros is exact, whatever the order), one sum allreduce fills every slot, and
    /// every rank adds the slots in rank order. It moves size × the data, so it is for short buffers, such as
    /// synchronised BatchNorm's per-channel sums, whose result must agree everywhere (running statistics).
    /// `scratch` is reused between calls.
    public func allreduceSumInRankOrder(_ values: UnsafeMutableBufferPointer<Double>, scratch: inout [Double]) throws {
        let count = values.count
        if size == 1 || count == 0 { return }
        if scratch.count != size * count { scratch = [Double](repeating: 0, count: size * count) }
        try scratch.withUnsafeMutableBufferPointer { slots in
            slots.update(repeating: 0)
            for index in 0..<count { slots[rank * count + index] = values[index] }
            try allreduce(slots, op: .sum)
            for index in 0..<count {
                var total = slots[index]
                for other in 1..<size { total += slots[other * count + index] }
                values[index] = total
            }
        }
    }
}
