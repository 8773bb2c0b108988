import ArgumentParser
import Distributed
import Kernels

/// `l3rs selftest`: who runs where, with which BLAS, and whether an allreduce gives the right answer.
struct SelftestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Print each rank's host, rank, local rank and BLAS set-up, and verify an allreduce."
    )

    @OptionGroup var distributed: DistributedOptions

    @Option(help: "Elements in the verified allreduce.")
    var elements: Int = 1 << 20

    @Option(help: ArgumentHelp("Make this rank fail before the allreduce (tests that a failing rank ends the job).", visibility: .hidden))
    var injectFailureOnRank: Int?

    func validate() throws {
        guard elements > 0 else { throw ValidationError("--elements must be positive, got \(elements)") }
    }

    func run() throws {
        do {
            try runOnRank(distributed) { communicator in
                try selftest(communicator)
            }
        } catch ExitCodeError.failure {
            throw ExitCode.failure
        }
    }

    private func selftest(_ communicator: any Communicator) throws {
        if communicator.isRoot {
            printLine("l3rs \(L3RSVersion.string) selftest: \(communicator.size) rank(s), \(communicator.implementationName)")
        }
        // One line per rank, in rank order.
        for turn in 0..<communicator.size {
            if turn == communicator.rank {
                printLine("rank \(communicator.rank)/\(communicator.size) host \(communicator.hostName) local rank \(communicator.localRank)/\(communicator.localSize) BLAS \(BLASInfo.coreName) threads \(ComputeThreads.count)")
            }
            try communicator.barrier()
        }

        if injectFailureOnRank == communicator.rank {
            throw SelftestFailure("injected failure (--inject-failure-on-rank \(communicator.rank))")
        }

        // Rank r contributes r + 1 + i/n at element i; the sum over ranks is known in closed form.
        let size = communicator.size
        var values = [Float](repeating: 0, count: elements)
        for index in values.indices { values[index] = Float(communicator.rank + 1) + Float(index % 7) }
        try communicator.allreduce(&values, op: .sum)
        let rankSum = Float(size * (size + 1) / 2)
        var worst: Float = 0
        for index in values.indices {
            let expected = rankSum + Float(size) * Float(index % 7)
            worst = max(worst, abs(values[index] - expected))
        }
        let agreed = try communicator.allreduce(Double(worst), op: .max)
        guard agreed == 0 else {
            throw SelftestFailure("allreduce of \(elements) floats is wrong by up to \(agreed)")
        }
        if communicator.isRoot {
            printLine("allreduce verified: \(elements) floats summed over \(size) rank(s), exact")
        }
    }
}

struct SelftestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
