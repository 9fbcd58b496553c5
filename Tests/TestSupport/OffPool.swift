import Dispatch
import Foundation
import Synchronization

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

/// Runs `body` on a thread of its own and returns its result, or nil when it has not returned
/// within `timeout`. Unlike a task group it does not wait for a body that never returns (the
/// thread is left to spin, at the lowest priority, and the test fails).
public func finishes<T: Sendable>(
    within timeout: Duration, _ what: String, _ body: @escaping @Sendable () throws -> T
) async throws -> T? {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
        let once = Mutex<CheckedContinuation<T?, any Error>?>(continuation)
        @Sendable func resume(_ result: Result<T?, any Error>) {
            once.withLock { $0.take() }?.resume(with: result)
        }
        Thread.detachNewThread {
            // Low priority, as offPoolAtLowPriority: a body that spins (the bug it guards
            // against) or builds large tables must not starve the timing tests beside it.
            #if os(Linux)
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            #endif
            resume(Result { try body() })
        }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        ) { resume(.success(nil)) }
    }
}
