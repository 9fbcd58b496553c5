import ServiceLifecycle

/// How a wait inside a service's `run()` ended.
enum ShutdownRace<Value: Sendable>: Sendable {
    /// The operation finished first.
    case finished(Value)
    /// Graceful shutdown was triggered first.
    case shutdown
    /// The task was cancelled first (a service group cancels after a failure, or when told to).
    case cancelled

    /// Runs `operation` until it finishes, graceful shutdown is triggered, or the task is
    /// cancelled, whichever comes first; the operation is cancelled when it does not win.
    static func run(_ operation: @escaping @Sendable () async -> Value) async -> ShutdownRace<Value> {
        if Task.isCancelled { return .cancelled }
        if Task.isShuttingDownGracefully { return .shutdown }
        return await withTaskGroup(of: ShutdownRace<Value>?.self) { group in
            group.addTask { .finished(await operation()) }
            group.addTask {
                do {
                    try await gracefulShutdown()
                    return .shutdown
                } catch {
                    // Cancelled: either by the caller (the result says so below) or because the
                    // operation won.
                    return nil
                }
            }
            let first = await group.next()!
            group.cancelAll()
            // A nil first result is the shutdown waiter cancelled before anything else ended:
            // the caller was cancelled.
            if Task.isCancelled { return .cancelled }
            return first ?? .cancelled
        }
    }
}

/// Sleeps for `duration`; `false` if the task was cancelled first.
func sleepUnlessCancelled(_ duration: Duration) async -> Bool {
    do {
        try await Task.sleep(for: duration)
        return true
    } catch {
        return false
    }
}

/// Runs `body` in a task of its own, so that the caller's cancellation does not cut it short:
/// a deregistration must finish even when the group is tearing the service down.
func uncancelledThrowing(_ body: @escaping @Sendable () async throws -> Void) async throws {
    try await Task { try await body() }.value
}
