/// The threads one rank computes with: `WorkerPool.shared`'s, which run the matrix products (`GEMM`, cut into
/// blocks, one OpenBLAS thread each) and the loops around them, so that a rank never runs more threads than the
/// cores it was given. At start-up the pool takes OpenBLAS's count (`OPENBLAS_NUM_THREADS`, or the cores) and
/// sets OpenBLAS to one; `l3rs bench` sets the count per measurement.
public enum ComputeThreads {
    /// Sets the shared pool's thread count to `count` (at least 1); OpenBLAS stays at one thread per product block.
    public static func set(_ count: Int) {
        WorkerPool.shared.setThreadCount(count)
        BLASInfo.setThreadCount(1)
    }

    /// The rank's compute threads (the shared pool's count).
    public static var count: Int { WorkerPool.shared.threadCount }
}
