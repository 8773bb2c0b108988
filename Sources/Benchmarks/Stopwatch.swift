#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock timing for the benchmarks: warm-up runs first (caches, lazily sized buffers, BLAS threads),
/// then the median of several repeats, which shrugs off the odd slow repeat when other work shares the cores.
public enum Stopwatch {
    /// Seconds on the monotonic clock.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// CPU seconds of this process, every thread's (`CLOCK_PROCESS_CPUTIME_ID`): at one thread, what a step costs
    /// without the time slices other processes took from it.
    public static func processCPU() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// Median seconds of `repeats` calls of `body` after `warmup` untimed calls.
    public static func median(warmup: Int = 2, repeats: Int = 5, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = now()
            try body()
            samples.append(now() - start)
        }
        return median(of: samples)
    }

    /// The median of `samples` (the mean of the middle two for an even count).
    public static func median(of samples: [Double]) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
