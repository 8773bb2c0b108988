/// The threads one rank computes with: OpenBLAS's for the matrix products and `WorkerPool.shared`'s for the
/// loops around them, set together so that a rank never runs more threads than the cores it was given.
/// At start-up the pool takes OpenBLAS's count (`OPENBLAS_NUM_THREADS`, or the cores); `l3rs bench` sets both per
/// measurement.
public enum ComputeThreads {
    /// Sets OpenBLAS's and the shared pool's thread counts to `count` (at least 1).
    public static func set(_ count: Int) {
        BLASInfo.setThreadCount(count)
        WorkerPool.shared.setThreadCount(count)
    }

    /// The shared pool's thread count (OpenBLAS's is `BLASInfo.threadCount`).
    public static var count: Int { WorkerPool.shared.threadCount }
}
