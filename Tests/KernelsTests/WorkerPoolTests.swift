import XCTest
@testable import Kernels

/// The pool runs every task exactly once on a valid thread index, falls back to serial execution when busy, and
/// survives resizing and callers on several threads.
final class WorkerPoolTests: XCTestCase {
    /// Counts of each task's runs and the largest thread index seen.
    private func runCounts(_ pool: WorkerPool, tasks: Int) -> (counts: [Int], maxThread: Int) {
        var counts = [Int](repeating: 0, count: tasks)
        var threads = [Int](repeating: -1, count: tasks)
        counts.withUnsafeMutableBufferPointer { counts in
            threads.withUnsafeMutableBufferPointer { threads in
                pool.run(tasks: tasks) { task, thread in
                    counts[task] += 1
                    threads[task] = thread
                }
            }
        }
        return (counts, threads.max() ?? -1)
    }

    func testEveryTaskRunsOnceOnAValidThread() {
        for threadCount in 1...4 {
            let pool = WorkerPool(threadCount: threadCount)
            XCTAssertEqual(pool.threadCount, threadCount)
            for tasks in [0, 1, 2, 3, 7, 64, 1000] {
                let result = runCounts(pool, tasks: tasks)
                XCTAssertEqual(result.counts, [Int](repeating: 1, count: tasks), "\(threadCount) threads, \(tasks) tasks")
                XCTAssertLessThan(result.maxThread, threadCount)
            }
        }
    }

    /// With enough slow tasks, a pool of 2 really runs some on its worker (thread index 1).
    func testWorkersTakeTasks() {
        let pool = WorkerPool(threadCount: 2)
        var threads = [Int](repeating: 0, count: 32)
        threads.withUnsafeMutableBufferPointer { threads in
            pool.run(tasks: 32) { task, thread in
                threads[task] = thread
                usleep(2000)
            }
        }
        XCTAssertTrue(threads.contains(1), "the worker thread ran no task: \(threads)")
    }

    func testChunkedRunCoversTheRangeOnce() {
        let pool = WorkerPool(threadCount: 3)
        for (count, chunk) in [(0, 4), (1, 4), (10, 3), (12, 4), (1000, 7)] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { hits in
                pool.run(count: count, chunk: chunk) { range, _ in
                    XCTAssertLessThanOrEqual(range.count, chunk)
                    for i in range { hits[i] += 1 }
                }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: count), "count \(count), chunk \(chunk)")
        }
    }

    /// A run from inside a task finds the pool busy and runs serially on the calling thread, as thread 0.
    func testNestedRunIsSerial() {
        let pool = WorkerPool(threadCount: 2)
        var inner = [[Int]](repeating: [], count: 4)
        inner.withUnsafeMutableBufferPointer { inner in
            pool.run(tasks: 4) { task, _ in
                var seen: [Int] = []
                pool.run(tasks: 3) { innerTask, thread in
                    XCTAssertEqual(thread, 0)
                    seen.append(innerTask)
                }
                inner[task] = seen
            }
        }
        XCTAssertEqual(inner, [[Int]](repeating: [0, 1, 2], count: 4))
    }

    func testResizingKeepsRunning() {
        let pool = WorkerPool(threadCount: 1)
        for threadCount in [2, 4, 1, 3, 3, 2] {
            pool.setThreadCount(threadCount)
            XCTAssertEqual(pool.threadCount, threadCount)
            let result = runCounts(pool, tasks: 50)
            XCTAssertEqual(result.counts, [Int](repeating: 1, count: 50))
            XCTAssertLessThan(result.maxThread, threadCount)
        }
        pool.setThreadCount(0)
        XCTAssertEqual(pool.threadCount, 1)
    }

    /// Two threads calling `run` at once: one gets the pool, the other runs serially; both finish every task.
    func testConcurrentCallers() {
        let pool = WorkerPool(threadCount: 2)
        let group = DispatchGroup()
        let totals = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        totals.initialize(repeating: 0, count: 4)
        defer { totals.deallocate() }
        nonisolated(unsafe) let shared = totals
        for caller in 0..<4 {
            DispatchQueue.global().async(group: group) {
                var counts = [Int](repeating: 0, count: 200)
                counts.withUnsafeMutableBufferPointer { counts in
                    for _ in 0..<20 { pool.run(tasks: 200) { task, _ in counts[task] += 1 } }
                }
                shared[caller] = counts.reduce(0, +)
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "concurrent runs did not finish")
        XCTAssertEqual(Array(UnsafeBufferPointer(start: totals, count: 4)), [4000, 4000, 4000, 4000])
    }

}
