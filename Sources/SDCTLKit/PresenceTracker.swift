import Synchronization

/// The set of addresses a watcher last reported, and a waiter for one to appear or vanish,
/// stamped with the monotonic time at which the watcher reported it.
final class PresenceTracker: Sendable {
    private struct State: Sendable {
        var current: Set<String>?
        var waiter: (address: String, present: Bool, continuation: CheckedContinuation<UInt64?, Never>)?
        var firstSetWaiter: CheckedContinuation<UInt64?, Never>?
    }

    private let state = Mutex(State())

    func update(_ addresses: Set<String>) {
        let now = monotonicNanoseconds()
        let resumed = state.withLock { state -> [CheckedContinuation<UInt64?, Never>] in
            state.current = addresses
            var ready: [CheckedContinuation<UInt64?, Never>] = []
            if let first = state.firstSetWaiter {
                ready.append(first)
                state.firstSetWaiter = nil
            }
            if let waiter = state.waiter, addresses.contains(waiter.address) == waiter.present {
                ready.append(waiter.continuation)
                state.waiter = nil
            }
            return ready
        }
        for continuation in resumed { continuation.resume(returning: now) }
    }

    func waitForFirstSet(timeout: Duration) async -> Bool {
        await withDeadline(timeout) { continuation in
            state.withLock { state in
                if state.current != nil { return true }
                state.firstSetWaiter = continuation
                return false
            }
        } cancel: {
            self.state.withLock { state in
                defer { state.firstSetWaiter = nil }
                return state.firstSetWaiter
            }
        } != nil
    }

    /// The monotonic time at which `address` was seen `present` (or absent), `nil` on timeout.
    func wait(for address: String, present: Bool, timeout: Duration) async -> UInt64? {
        await withDeadline(timeout) { continuation in
            state.withLock { state in
                if let current = state.current, current.contains(address) == present { return true }
                state.waiter = (address, present, continuation)
                return false
            }
        } cancel: {
            self.state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
        }
    }

    /// Parks a continuation with `install` (which returns true when already satisfied) and
    /// resumes it with `nil` via `cancel` when `timeout` passes first.
    private func withDeadline(
        _ timeout: Duration,
        install: (CheckedContinuation<UInt64?, Never>) -> Bool,
        cancel: @escaping @Sendable () -> CheckedContinuation<UInt64?, Never>?
    ) async -> UInt64? {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            cancel()?.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            if install(continuation) { continuation.resume(returning: monotonicNanoseconds()) }
        }
    }
}
