import Distributed

/// Median time of one in-place allreduce (mean) of `elements` floats across every rank; the ranks are
/// lined up by a barrier before each timed call so one rank's lateness is not counted as transfer time.
public enum AllreduceBench {
    public static func seconds(elements: Int, communicator: any Communicator, repeats: Int) throws -> Double {
        var buffer = [Float](repeating: 1, count: elements)
        return try buffer.withUnsafeMutableBufferPointer { pointer in
            for _ in 0..<2 { try communicator.allreduce(pointer, op: .mean) }
            var samples: [Double] = []
            for _ in 0..<max(1, repeats) {
                try communicator.barrier()
                let start = Stopwatch.now()
                try communicator.allreduce(pointer, op: .mean)
                samples.append(Stopwatch.now() - start)
            }
            return Stopwatch.median(of: samples)
        }
    }
}
