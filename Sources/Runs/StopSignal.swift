import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM (a batch system's warning before the time limit, `scancel`), SIGINT (Ctrl-C) and SIGUSR1 ask the run to
/// stop at the next step boundary, write a checkpoint and exit with `StopSignal.exitCode`. SIGUSR1 is there for
/// launchers: mpirun and srun kill their ranks on SIGTERM but forward SIGUSR1 to every rank, so a batch script
/// turns the batch system's TERM into USR1 for the launcher (jobs/). The handler only sets a flag; ranks agree on
/// stopping through a collective, so they all stop at the same step.
public enum StopSignal {
    /// The documented exit status of a run stopped by a signal after checkpointing (EX_TEMPFAIL: try again).
    public static let exitCode: Int32 = 75

    private static let received = Atomic<Int32>(0)

    /// Installs the handlers for SIGTERM, SIGINT and SIGUSR1.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            StopSignal.received.store(signal, ordering: .relaxed)
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        signal(SIGUSR1, handler)
    }

    /// The signal received, or 0.
    public static var pending: Int32 { received.load(ordering: .relaxed) }

    /// Forgets a received signal (tests).
    public static func reset() { received.store(0, ordering: .relaxed) }

    /// Sets the flag as a signal would (tests, and stopping from code).
    public static func request(_ signal: Int32 = SIGTERM) { received.store(signal, ordering: .relaxed) }
}
