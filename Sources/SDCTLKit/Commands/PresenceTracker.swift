import Discovery
import Synchronization

/// The set a watcher last reported, and one waiter for an address to appear or vanish, stamped
/// with the monotonic time at which the watcher reported it.
///
/// A set costs its update a binary search per tracked address, not a look at every instance,
/// so that what `bench propagation` measures beside a large set is the backend's work.
final class PresenceTracker: Sendable {
    private struct Waiter: Sendable {
        var token: UInt64
        /// `nil` waits for the first set, whatever it holds.
        var address: String?
        var present: Bool
        var continuation: CheckedContinuation<UInt64?, Never>
    }

    /// A tracked address: whether it is in the current set, and when it last appeared and
    /// last vanished. A wait that starts after the change (the registrar's call returned later
    /// than the watcher saw it) gets the time of the change, not of the wait.
    private struct Stamps: Sendable {
        var present: Bool
        var appeared: UInt64?
        var vanished: UInt64?
    }

    private struct State: Sendable {
        /// Sorted by address, as every published set is.
        var current: [Instance]?
        var tracked: [String: Stamps] = [:]
        var waiter: Waiter?
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Stamps the comings and goings of `address` from now on.
    func track(_ address: String) {
        state.withLock { state in
            state.tracked[address] = Stamps(
                present: state.current.map { Self.contains($0, address) } ?? false)
        }
    }

    func untrack(_ address: String) {
        _ = state.withLock { $0.tracked.removeValue(forKey: address) }
    }

    /// Takes the watcher's new set, sorted by address.
    func update(_ instances: [Instance], at now: UInt64 = monotonicNanoseconds()) {
        let ready = state.withLock { state -> CheckedContinuation<UInt64?, Never>? in
            for (address, stamps) in state.tracked {
                let present = Self.contains(instances, address)
                guard present != stamps.present else { continue }
                state.tracked[address]?.present = present
                if present {
                    state.tracked[address]?.appeared = now
                } else {
                    state.tracked[address]?.vanished = now
                }
            }
            state.current = instances
            guard let waiter = state.waiter, Self.satisfied(waiter.address, waiter.present, instances) else {
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
                    let stamps = address.flatMap { state.tracked[$0] }
                    return (present ? stamps?.appeared : stamps?.vanished) ?? monotonicNanoseconds()
                }
                state.waiter = Waiter(
                    token: token, address: address, present: present, continuation: continuation)
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

    private static func satisfied(_ address: String?, _ present: Bool, _ set: [Instance]) -> Bool {
        guard let address else { return true }
        return contains(set, address) == present
    }

    /// Whether `sorted` (by address) has an instance at `address`: a binary search.
    private static func contains(_ sorted: [Instance], _ address: String) -> Bool {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].address < address { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low].address == address
    }
}
