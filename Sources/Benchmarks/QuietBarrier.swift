import Distributed
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A barrier that sleeps while it waits: a one-element nonblocking allreduce polled every millisecond.
/// `MPI_Barrier` busy-polls, so a rank waiting in it takes a core away from a rank that is being timed alone
/// (the one-rank baseline of the scaling table), which on a two-core machine halves that rank's speed.
public enum QuietBarrier {
    public static func wait(_ communicator: any Communicator, pollMicroseconds: UInt32 = 1000) throws {
        var token: [Float] = [0]
        try token.withUnsafeMutableBufferPointer { buffer in
            let request = try communicator.startAllreduce(buffer, op: .sum)
            while !(try request.progress()) { usleep(pollMicroseconds) }
            try request.wait()
        }
    }
}
