#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small pool of threads for a rank's parallel work: the blocks of every matrix product (`GEMM`), im2col/col2im,
/// the direct convolutions, BatchNorm, pooling, ReLU and element-wise optimizer passes.
///
/// `run(tasks:_:)` calls the body once per task index, spread over the calling thread and the pool's
/// workers; the caller partitions its work into tasks that do not depend on the thread count (images,
/// channels, fixed-size chunks), so every result is the same bit for bit at 1, 2 or 4 threads. Each call
/// also gets the index of the thread running it (0 ..< `threadCount`), for per-thread scratch buffers.
///
/// The caller waits for the tasks, not for the workers: a worker that wakes after every task was claimed (on a
/// loaded machine it may wait a time slice) finds nothing to do, so a late thread never delays a step.
///
/// One `run` at a time: a call made while the pool is busy (from inside a task, or from another thread)
/// runs its tasks serially on the calling thread, with thread index 0 of its own. `shared` starts with as many
/// threads as OpenBLAS had (`OPENBLAS_NUM_THREADS`, or every core when unset) and then sets OpenBLAS to one
/// thread: the matrix products run on this pool too (`GEMM`), so one variable gives a rank its threads, and no
/// idle OpenBLAS thread spins on a core the pool needs. `l3rs bench` changes the count with `ComputeThreads.set`.
public final class WorkerPool: @unchecked Sendable {
    /// The pool the layers and `GEMM` use.
    public static let shared: WorkerPool = {
        let threads = BLASInfo.threadCount
        BLASInfo.setThreadCount(1)
        return WorkerPool(threadCount: threads)
    }()

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a job is posted (workers wait on it) and when the last worker leaves a job.
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Held by the `run` in progress (and by `setThreadCount`); a `run` that cannot take it runs serially.
    private let busy = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    // Guarded by `mutex`.
    private var workers: [pthread_t] = []
    private var generation = 0
    private var stopping = false
    private var job: ((Int, Int) -> Void)?
    private var taskCount = 0
    private var nextTask = 0
    private var finishedTasks = 0

    /// Threads that run tasks, the caller included.
    public private(set) var threadCount = 1

    /// Wall seconds spent in `run` calls of more than one task that had the pool to themselves (not nested), at
    /// any thread count: the work the pool can split. `l3rs bench --tables phases` reads it at one thread to say
    /// which share of each phase a second thread can take (the rest runs on the caller alone).
    public private(set) var secondsInSplitWork = 0.0

    public init(threadCount: Int = 1) {
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(busy, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        setThreadCount(threadCount)
    }

    deinit {
        stopWorkers()
        pthread_mutex_destroy(mutex)
        pthread_mutex_destroy(busy)
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        mutex.deallocate()
        busy.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    /// Resizes the pool to `count` threads (the caller and count − 1 workers); waits for a `run` in progress.
    public func setThreadCount(_ count: Int) {
        let count = max(1, count)
        pthread_mutex_lock(busy)
        defer { pthread_mutex_unlock(busy) }
        guard count != threadCount || workers.count != count - 1 else { return }
        stopWorkers()
        threadCount = count
        for index in 1..<count {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(index: context.index)
                return nil
            }, context)
            precondition(status == 0, "WorkerPool: pthread_create failed with \(status)")
            workers.append(thread)
        }
    }

    /// Calls `body(task, thread)` for every task in 0 ..< `tasks`, on up to `threadCount` threads, and returns
    /// when all are done. Tasks must write disjoint memory (or per-thread scratch indexed by `thread`).
    public func run(tasks: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        guard tasks > 0 else { return }
        guard tasks > 1, pthread_mutex_trylock(busy) == 0 else {
            for task in 0..<tasks { body(task, 0) }
            return
        }
        defer { pthread_mutex_unlock(busy) }
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        defer {
            clock_gettime(CLOCK_MONOTONIC, &end)
            secondsInSplitWork += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
        }
        guard threadCount > 1 else {
            for task in 0..<tasks { body(task, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(mutex)
            job = body
            taskCount = tasks
            nextTask = 0
            finishedTasks = 0
            generation += 1
            let current = generation
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
            runTasks(generation: current, thread: 0)
            pthread_mutex_lock(mutex)
            while finishedTasks < taskCount { pthread_cond_wait(done, mutex) }
            job = nil
            pthread_mutex_unlock(mutex)
        }
    }

    /// Elements per task of an element-wise pass over parameters or activations (optimizer updates): large
    /// enough that a task outweighs its hand-off, small enough that two threads share a 100 K-element layer.
    public static let elementwiseChunk = 1 << 14

    /// An element-wise pass over `count` elements on the shared pool, in chunks of `elementwiseChunk`: each
    /// element's result does not depend on the cut, so the bits are those of a serial loop at any thread count.
    public static func elementwise(count: Int, _ body: (_ range: Range<Int>) -> Void) {
        shared.run(count: count, chunk: elementwiseChunk) { range, _ in body(range) }
    }

    /// `run` over `count` elements cut into chunks of `chunk` (the last one shorter): body(range, thread).
    public func run(count: Int, chunk: Int, _ body: (_ range: Range<Int>, _ thread: Int) -> Void) {
        precondition(chunk > 0, "WorkerPool: chunk must be positive")
        run(tasks: (count + chunk - 1) / chunk) { task, thread in
            body(task * chunk..<min(count, (task + 1) * chunk), thread)
        }
    }

    /// Claims tasks of job `generation` one at a time until none is left. A task is claimed together with the
    /// job's body under the lock, and `run` returns only when every claimed task has finished, so no thread
    /// calls a body after its `run` returned; each loop pass drops its reference to the body before the lock is
    /// released again (`withoutActuallyEscaping` checks that none is left).
    private func runTasks(generation current: Int, thread: Int) {
        pthread_mutex_lock(mutex)
        while generation == current, nextTask < taskCount, let body = job {
            let task = nextTask
            nextTask += 1
            pthread_mutex_unlock(mutex)
            body(task, thread)
            pthread_mutex_lock(mutex)
            finishedTasks += 1
            if finishedTasks == taskCount { pthread_cond_signal(done) }
        }
        pthread_mutex_unlock(mutex)
    }

    private func workerLoop(index: Int) {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { break }
            seen = generation
            pthread_mutex_unlock(mutex)
            runTasks(generation: seen, thread: index)
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Joins every worker (the caller holds `busy`, or is deinit).
    private func stopWorkers() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in workers { pthread_join(thread, nil) }
        workers.removeAll()
        pthread_mutex_lock(mutex)
        stopping = false
        generation = 0
        pthread_mutex_unlock(mutex)
        threadCount = 1
    }
}

/// What a worker thread starts with.
private final class WorkerContext {
    /// Unowned: the pool joins its workers in deinit, so it outlives them.
    unowned(unsafe) let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}
