import Foundation
import Synchronization

/// Notices a collective that does not finish in time.
///
/// A rank that stops taking part in collectives (stuck in a file system, swapped out, a bug that skips a call)
/// leaves every other rank blocked inside MPI with no error at all: MPI has no timeouts. The thread that is blocked
/// cannot help itself, so a second thread watches: the caller marks the start and end of every blocking collective
/// (`begin`, `end`), and when one has been in flight longer than `timeout` the watchdog calls `onStall` once with
/// what was running, so the job can be reported and aborted instead of hanging until the batch system's limit.
///
/// Marking costs one uncontended lock per collective; the thread wakes every `pollInterval`.
public final class CollectiveWatchdog: Sendable {
    /// What was in flight when the time limit passed.
    public struct Stall: Sendable, Equatable {
        /// The collective that did not finish ("allreduce of 1024 floats").
        public let collective: String
        /// What the program was doing ("step 12"), as last set by `setPhase`; empty when never set.
        public let phase: String
        /// Seconds the collective had been running.
        public let seconds: Double
    }

    private struct State {
        var collective: String?
        var started = ContinuousClock.now
        var phase = ""
        var fired = false
        var stopped = false
    }

    /// The longest a collective may run before `onStall` is called.
    public let timeout: Duration
    private let state = Mutex(State())
    private let onStall: @Sendable (Stall) -> Void

    /// Starts the watching thread.
    /// - Parameters:
    ///   - timeout: the longest one collective may take.
    ///   - pollInterval: how often the thread looks; a stall is noticed at most this late.
    ///   - onStall: called once, on the watchdog's thread (typically prints and aborts the job).
    public init(timeout: Duration, pollInterval: Duration = .milliseconds(100), onStall: @escaping @Sendable (Stall) -> Void) {
        self.timeout = timeout
        self.onStall = onStall
        let thread = Thread { [self] in watch(pollInterval: pollInterval) }
        thread.name = "collective-watchdog"
        thread.start()
    }

    /// Marks the start of a blocking collective.
    public func begin(_ collective: String) {
        state.withLock { state in
            state.collective = collective
            state.started = .now
        }
    }

    /// Marks the end of the collective started last.
    public func end() {
        state.withLock { $0.collective = nil }
    }

    /// Names what the following collectives belong to, for the report.
    public func setPhase(_ phase: String) {
        state.withLock { $0.phase = phase }
    }

    /// Ends the watching thread (at its next wake-up).
    public func stop() {
        state.withLock { $0.stopped = true }
    }

    private func watch(pollInterval: Duration) {
        let seconds = Double(pollInterval.components.seconds) + Double(pollInterval.components.attoseconds) * 1e-18
        while true {
            Thread.sleep(forTimeInterval: seconds)
            let stall: Stall? = state.withLock { state in
                guard !state.stopped, !state.fired, let collective = state.collective else { return nil }
                let elapsed = ContinuousClock.now - state.started
                guard elapsed > timeout else { return nil }
                state.fired = true
                let components = elapsed.components
                return Stall(collective: collective, phase: state.phase,
                             seconds: Double(components.seconds) + Double(components.attoseconds) * 1e-18)
            }
            if let stall { onStall(stall) }
            if state.withLock({ $0.stopped || $0.fired }) { return }
        }
    }
}
