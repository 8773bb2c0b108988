import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM (a batch system's warning before the time limit, `scancel`) and SIGINT (Ctrl-C) ask the run to stop at
/// the next step boundary, write a checkpoint and exit with `StopSignal.exitCode`. The handler only sets a flag;
/// ranks agree on stopping through a collective, so they all stop at the same step.
public enum StopSignal {
    /// The documented exit status of a run stopped by a signal after checkpointing (EX_TEMPFAIL: try again).
    public static let exitCode: Int32 = 75

    private static let received = Atomic<Int32>(0)

    /// Installs the handlers for SIGTERM and SIGINT.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            StopSignal.received.store(signal, ordering: .relaxed)
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }

    /// The signal received, or 0.
    public static var pending: Int32 { received.load(ordering: .relaxed) }

    /// Forgets a received signal (tests).
    public static func reset() { received.store(0, ordering: .relaxed) }

    /// Sets the flag as a signal would (tests, and stopping from code).
    public static func request(_ signal: Int32 = SIGTERM) { received.store(signal, ordering: .relaxed) }
}
