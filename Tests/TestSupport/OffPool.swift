import Foundation

/// Runs a blocking call (a child process to completion, a socket read with a timeout, openssl)
/// on a thread of its own and awaits it. A blocked thread of the 2-thread cooperative pool
/// stalls every test running in parallel: seen as a Retry deadline overrun, an etcd lease lost,
/// and DefaultEndpointer timers starved for 5 s under ThreadSanitizer.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Runs CPU-heavy test work (simulations, table builds, many picks) on a thread of its own at
/// the lowest scheduling priority (nice 19; threads it creates inherit it), so that on a
/// 2-core machine it takes only the time the cooperative pool leaves: at normal priority it
/// starved the timing tests running beside it (Retry deadlines overran by up to a second).
/// (On Linux the nice value of `who` 0 is the calling thread's, not the whole process's.)
public func offPoolAtLowPriority<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await offPool {
        #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        #endif
        return try body()
    }
}
