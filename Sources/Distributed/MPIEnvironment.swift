import CMPI
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// MPI may be initialised and finalised exactly once per process; a process that called MPI_Init but not
/// MPI_Finalize makes mpirun exit 1 even when all work succeeded. This type owns that life cycle.
public enum MPIEnvironment {
    private struct State {
        var initialized = false
        var finalized = false
    }

    private static let state = Mutex(State())

    /// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMIx).
    public static var isLaunchedByMPI: Bool {
        let markers = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"]
        return markers.contains { getenv($0) != nil }
    }

    /// Initialises MPI once (later calls do nothing); after `finalize` it is an error.
    public static func initialize() throws {
        try state.withLock { state in
            if state.initialized { return }
            guard !state.finalized else {
                throw CommunicatorError.invalidArgument("MPI was already finalised in this process and cannot start again")
            }
            var provided: Int32 = 0
            let code = MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided)
            guard code == cmpi_success() else {
                throw CommunicatorError.mpi(function: "MPI_Init_thread", code: code, message: errorString(code), rank: -1)
            }
            // Errors come back as return codes, so every call site can name the rank and the call.
            MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return())
            state.initialized = true
        }
    }

    /// Finalises MPI if it was initialised and not yet finalised. Safe to call more than once.
    public static func finalize() {
        state.withLock { state in
            guard state.initialized, !state.finalized else { return }
            MPI_Finalize()
            state.finalized = true
        }
    }

    /// Whether `initialize` succeeded and `finalize` has not run.
    public static var isActive: Bool {
        state.withLock { $0.initialized && !$0.finalized }
    }

    /// MPI's text for an error code.
    public static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == cmpi_success() else { return "unknown MPI error \(code)" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The MPI library's own version string ("Open MPI v4.1.4, package: ...").
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: 8192)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == cmpi_success() else { return "unknown" }
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: ",").first.map(String.init) ?? text
    }
}
