import CBLAS

/// Facts about the BLAS library this process runs on, reported by `l3rs selftest` and the benchmarks.
public enum BLASInfo {
    /// OpenBLAS's name for the CPU kernel it selected (for example "SkylakeX" or "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Number of threads OpenBLAS will use for one call.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets OpenBLAS's thread count (one per core that this rank owns).
    public static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
}
