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
