import Synchronization

/// The set of addresses a watcher last reported, and one waiter for an address to appear or
/// vanish, stamped with the monotonic time at which the watcher reported it.
final class PresenceTracker: Sendable {
    private struct Waiter: Sendable {
        var token: UInt64
        /// `nil` waits for the first set, whatever it holds.
        var address: String?
        var present: Bool
        var continuation: CheckedContinuation<UInt64?, Never>
    }

    private struct State: Sendable {
        var current: Set<String>?
        /// When each address last appeared and last vanished: a wait that starts after the
        /// change (the registrar's call returned later than the watcher saw it) gets the time of
        /// the change, not of the wait.
        var appeared: [String: UInt64] = [:]
        var vanished: [String: UInt64] = [:]
        var waiter: Waiter?
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    func update(_ addresses: Set<String>, at now: UInt64 = monotonicNanoseconds()) {
        let ready = state.withLock { state -> CheckedContinuation<UInt64?, Never>? in
            let previous = state.current ?? []
            for address in addresses where !previous.contains(address) { state.appeared[address] = now }
            for address in previous where !addresses.contains(address) { state.vanished[address] = now }
            state.current = addresses
            guard let waiter = state.waiter, Self.satisfied(waiter.address, waiter.present, addresses) else {
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        ready?.resume(returning: now)
    }

    func waitForFirstSet(timeout: Duration) async -> Bool {
        await wait(for: nil, present: true, timeout: timeout) != nil
    }

    /// The monotonic time at which `address` was seen `present` (or absent), `nil` on timeout.
    func wait(for address: String?, present: Bool, timeout: Duration) async -> UInt64? {
        let token = state.withLock { state -> UInt64 in
            state.nextToken += 1
            return state.nextToken
        }
        // The timer resumes only its own wait, and only if it is still waiting.
        let timer = Task {
            do {
                try await Task.sleep(for: timeout)
            } catch {
                return
            }
            let expired = state.withLock { state -> CheckedContinuation<UInt64?, Never>? in
                guard let waiter = state.waiter, waiter.token == token else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            expired?.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let already = state.withLock { state -> UInt64? in
                if let current = state.current, Self.satisfied(address, present, current) {
                    let changed = address.flatMap { present ? state.appeared[$0] : state.vanished[$0] }
                    return changed ?? monotonicNanoseconds()
                }
                state.waiter = Waiter(
                    token: token, address: address, present: present, continuation: continuation)
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

    private static func satisfied(_ address: String?, _ present: Bool, _ set: Set<String>) -> Bool {
        guard let address else { return true }
        return set.contains(address) == present
    }
}
