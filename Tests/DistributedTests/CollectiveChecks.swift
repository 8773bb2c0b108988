import TestSupport
import XCTest
@testable import Distributed

/// Checks of every collective that hold for any world size. `swift test` runs them in-process on one rank;
/// `MultiRankLaunchTests` re-runs this class under `mpirun -np 2`, where they run on MPI with two ranks.
final class CollectiveChecks: XCTestCase {
    static func communicator() throws -> any Communicator { try ProcessCommunicator.get() }

    override class func tearDown() {
        ProcessCommunicator.finish()
        super.tearDown()
    }

    func testWorldDescription() throws {
        let comm = try Self.communicator()
        XCTAssertTrue((0..<comm.size).contains(comm.rank))
        XCTAssertTrue((0..<comm.localSize).contains(comm.localRank))
        XCTAssertLessThanOrEqual(comm.localSize, comm.size)
        if MPIEnvironment.isLaunchedByMPI {
            XCTAssertEqual(comm.size, Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] ?? "") ?? comm.size)
            XCTAssertTrue(comm.implementationName.hasPrefix("mpi"))
        }
    }

    func testAllreduceSumAndMeanOfFloats() throws {
        let comm = try Self.communicator()
        let count = 1000
        var sum = (0..<count).map { Float(comm.rank + 1) * Float($0 % 13) }
        var mean = sum
        try comm.allreduce(&sum, op: .sum)
        try comm.allreduce(&mean, op: .mean)
        let rankTotal = Float(comm.size * (comm.size + 1) / 2)
        for index in 0..<count {
            XCTAssertEqual(sum[index], rankTotal * Float(index % 13), "element \(index)")
            XCTAssertEqual(mean[index], rankTotal * Float(index % 13) / Float(comm.size), accuracy: 1e-4, "element \(index)")
        }
    }

    func testAllreduceMaxMinOfDoubles() throws {
        let comm = try Self.communicator()
        var high = [Double(comm.rank), -Double(comm.rank)]
        var low = high
        try comm.allreduce(&high, op: .max)
        try comm.allreduce(&low, op: .min)
        XCTAssertEqual(high, [Double(comm.size - 1), 0])
        XCTAssertEqual(low, [0, -Double(comm.size - 1)])
        var mean = [Double(comm.rank)]
        try comm.allreduce(&mean, op: .mean)
        XCTAssertEqual(mean[0], Double(comm.size - 1) / 2, accuracy: 1e-12)
    }

    /// The rank-ordered sum equals the sum added up in rank order, exactly, on every rank (values chosen so
    /// that another order rounds differently).
    func testRankOrderedSumIsExactlyTheRankOrderSum() throws {
        let comm = try Self.communicator()
        func contribution(_ rank: Int, _ index: Int) -> Double { (rank % 2 == 0 ? 1e16 : 1.0) * Double(index + 1) + 0.1 * Double(rank) }
        var values = (0..<5).map { contribution(comm.rank, $0) }
        var scratch: [Double] = []
        try values.withUnsafeMutableBufferPointer { try comm.allreduceSumInRankOrder($0, scratch: &scratch) }
        for index in 0..<5 {
            var expected = contribution(0, index)
            for rank in 1..<max(comm.size, 1) { expected += contribution(rank, index) }
            XCTAssertEqual(values[index], expected, "element \(index)")
        }
        // Every rank holds the same bits.
        let bits = try comm.allgather(values.reduce(UInt64(0)) { $0 &* 31 &+ $1.bitPattern })
        XCTAssertEqual(Set(bits).count, 1)
    }

    func testEmptyAllreduceIsACollectiveNoOp() throws {
        let comm = try Self.communicator()
        var empty: [Float] = []
        try comm.allreduce(&empty, op: .sum)
        XCTAssertTrue(empty.isEmpty)
    }

    func testBroadcastFromEveryRoot() throws {
        let comm = try Self.communicator()
        for root in 0..<comm.size {
            var values = (0..<257).map { Float(comm.rank * 1000 + $0) }
            try comm.broadcast(&values, root: root)
            XCTAssertEqual(values, (0..<257).map { Float(root * 1000 + $0) }, "root \(root)")
            let hash = try comm.broadcast(UInt64(0xDEAD_BEEF_0000) + UInt64(comm.rank), root: root)
            XCTAssertEqual(hash, UInt64(0xDEAD_BEEF_0000) + UInt64(root))
        }
    }

    func testNonblockingAllreduceOverlapsOtherWork() throws {
        let comm = try Self.communicator()
        let buckets = 4
        var storage = [Float](repeating: 0, count: buckets * 4096)
        for index in storage.indices { storage[index] = Float(comm.rank + 1) * Float(index % 5) }
        try storage.withUnsafeMutableBufferPointer { whole in
            var requests: [any AllreduceRequest] = []
            for bucket in 0..<buckets {
                let slice = UnsafeMutableBufferPointer(rebasing: whole[(bucket * 4096)..<((bucket + 1) * 4096)])
                requests.append(try comm.startAllreduce(slice, op: bucket % 2 == 0 ? .sum : .mean))
            }
            for request in requests.reversed() { try request.wait() }
            try requests[0].wait()  // a second wait is harmless
        }
        let rankTotal = Float(comm.size * (comm.size + 1) / 2)
        for index in storage.indices {
            let bucket = index / 4096
            let expected = rankTotal * Float(index % 5) / (bucket % 2 == 0 ? 1 : Float(comm.size))
            XCTAssertEqual(storage[index], expected, accuracy: 1e-4, "element \(index)")
        }
    }

    func testAllgatherOfHashes() throws {
        let comm = try Self.communicator()
        let mine = UInt64(0xFFFF_FFFF_FFFF_0000) + UInt64(comm.rank)
        let all = try comm.allgather(mine)
        XCTAssertEqual(all, (0..<comm.size).map { UInt64(0xFFFF_FFFF_FFFF_0000) + UInt64($0) })
    }

    /// Every rank's Doubles, any number per rank (none on rank 1), reach every rank in rank order bit for bit:
    /// values whose Float halves are NaN patterns, −0, infinities and subnormals included (L3RS's cut layers hand
    /// on their sums with it).
    func testAllgatherOfDoublesKeepsEveryBit() throws {
        let comm = try Self.communicator()
        func values(of rank: Int) -> [Double] {
            guard rank != 1 else { return [] }
            let special: [Double] = [-0.0, .infinity, -.infinity, .leastNonzeroMagnitude,
                                     Double(bitPattern: 0x7FF0_0000_7FC0_0001), 1 / 3 + Double(rank)]
            let scale = 1e-300 * Double(rank + 1)
            return special + (0..<(1000 * rank + 3)).map { Double($0) * scale }
        }
        let all = try comm.allgather(values(of: comm.rank))
        XCTAssertEqual(all.count, comm.size)
        for rank in 0..<comm.size {
            XCTAssertEqual(all[rank].map(\.bitPattern), values(of: rank).map(\.bitPattern), "rank \(rank)'s values")
        }
    }

    /// Reduce-scatter hands each rank exactly its segment of the allreduce's result (bitwise, for sharded
    /// optimizer state), with uneven segments and an empty one; all-gather puts every segment everywhere.
    func testReduceScatterIsTheAllreducesSegmentAndAllgatherJoinsSegments() throws {
        let comm = try Self.communicator()
        // Rank r's segment has 3r + 5 elements, except that rank 1's (when there is one) is empty.
        let counts = (0..<comm.size).map { $0 == 1 ? 0 : 3 * $0 + 5 }
        let offsets = (0..<comm.size).map { counts[..<$0].reduce(0, +) }
        let total = counts.reduce(0, +)
        let input = (0..<total).map { Float(comm.rank + 1) * 0.1 * Float($0 % 7) + 1 / Float($0 + 3) }
        for op in [ReduceOp.sum, .mean] {
            var expected = input
            try comm.allreduce(&expected, op: op)
            var mine = [Float](repeating: -1, count: counts[comm.rank])
            try input.withUnsafeBufferPointer { inputBuffer in
                try mine.withUnsafeMutableBufferPointer { try comm.reduceScatter(inputBuffer, counts: counts, into: $0, op: op) }
            }
            let segment = Array(expected[offsets[comm.rank]..<(offsets[comm.rank] + counts[comm.rank])])
            XCTAssertEqual(mine.map(\.bitPattern), segment.map(\.bitPattern), "\(op)")
        }
        var gathered = [Float](repeating: .nan, count: total)
        for index in 0..<counts[comm.rank] { gathered[offsets[comm.rank] + index] = Float(1000 * comm.rank + index) }
        try gathered.withUnsafeMutableBufferPointer { try comm.allgather($0, counts: counts) }
        let expected = (0..<comm.size).flatMap { rank in (0..<counts[rank]).map { Float(1000 * rank + $0) } }
        XCTAssertEqual(gathered, expected)
        // Segment lengths that do not fit are refused on every rank, before any communication.
        XCTAssertThrowsError(try gathered.withUnsafeMutableBufferPointer { try comm.allgather($0, counts: counts + [1]) })
        XCTAssertThrowsError(try input.withUnsafeBufferPointer { inputBuffer in
            var wrong = [Float](repeating: 0, count: counts[comm.rank] + 1)
            try wrong.withUnsafeMutableBufferPointer { try comm.reduceScatter(inputBuffer, counts: counts, into: $0, op: .sum) }
        })
    }

    func testBadRootIsAnErrorNamingTheRank() throws {
        let comm = try Self.communicator()
        var values: [Float] = [1]
        XCTAssertThrowsError(try comm.broadcast(&values, root: comm.size + 3)) { error in
            let text = String(describing: error)
            if comm is MPICommunicator {
                guard case let .mpi(function, _, message, rank) = error as? CommunicatorError else {
                    return XCTFail("expected an MPI error, got \(error)")
                }
                XCTAssertEqual(function, "MPI_Bcast")
                XCTAssertEqual(rank, comm.rank)
                XCTAssertFalse(message.isEmpty)
                XCTAssertTrue(text.contains("rank \(comm.rank)"), text)
            } else {
                XCTAssertTrue(text.contains("root"), text)
            }
        }
        // The communicator still works after a rejected call.
        try comm.barrier()
        var after: [Float] = [Float(comm.rank)]
        try comm.allreduce(&after, op: .sum)
        XCTAssertEqual(after[0], Float(comm.size * (comm.size - 1) / 2))
    }
}

/// Bucketed gradient averaging and parameter-hash checks, on any world size.
final class BucketAndHashChecks: XCTestCase {
    override class func tearDown() {
        ProcessCommunicator.finish()
        super.tearDown()
    }

    func testBucketsCoverTheBufferInReverseLayerOrder() throws {
        let comm = try CollectiveChecks.communicator()
        let layers = [(offset: 0, count: 10), (offset: 10, count: 5), (offset: 15, count: 20), (offset: 35, count: 1)]
        let reducer = BucketedAllreduce(layers: layers, bucketElements: 8, communicator: comm)
        XCTAssertEqual(reducer.buckets.map(\.range), [15..<36, 0..<15])
        XCTAssertEqual(reducer.buckets.map(\.firstLayer), [2, 0])
    }

    func testBucketedMeanEqualsPlainMeanWithOverlap() throws {
        let comm = try CollectiveChecks.communicator()
        let layers = (0..<6).map { (offset: $0 * 700, count: 700) }
        var gradients = (0..<4200).map { Float(comm.rank + 1) * Float($0 % 11) }
        var expected = gradients
        try comm.allreduce(&expected, op: .mean)
        let reducer = BucketedAllreduce(layers: layers, bucketElements: 1000, communicator: comm)
        try gradients.withUnsafeMutableBufferPointer { buffer in
            for layer in layers.indices.reversed() { try reducer.layerFinished(layer, gradients: buffer) }
            try reducer.finish(gradients: buffer)
            // A second step reuses the same buckets.
            try reducer.reduce(gradients: buffer)
        }
        try expected.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .mean) }
        XCTAssertEqual(gradients, expected)
    }

    func testHashAgreesAndDetectsADifferingRank() throws {
        let comm = try CollectiveChecks.communicator()
        var values = (0..<100).map { Float($0) * 0.5 }
        XCTAssertEqual(try values.withUnsafeBufferPointer { try ParameterConsistency.disagreeingRanks(comm, values: $0) }, [])
        if comm.rank == comm.size - 1 && comm.size > 1 { values[17] = values[17].nextUp }
        let differing = try values.withUnsafeBufferPointer { try ParameterConsistency.disagreeingRanks(comm, values: $0) }
        XCTAssertEqual(differing, comm.size > 1 ? [comm.size - 1] : [])
        var other = values
        other[3] = -other[3]
        XCTAssertNotEqual(values.withUnsafeBufferPointer(ParameterConsistency.hash), other.withUnsafeBufferPointer(ParameterConsistency.hash))
    }
}
