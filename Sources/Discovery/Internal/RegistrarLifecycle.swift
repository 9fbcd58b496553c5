import Synchronization

/// A ``RegistrarStateMachine`` behind a lock, with a way to wait until it settles (for an
/// operation told to wait while another is under way).
package final class RegistrarLifecycle<Registration: Sendable>: Sendable {
    private struct State: Sendable {
        var machine = RegistrarStateMachine<Registration>()
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    package init() {}

    /// Runs one input of the machine; operations waiting for it to settle are resumed after
    /// the lock is released.
    package func withMachine<Result>(_ input: (inout RegistrarStateMachine<Registration>) -> Result) -> Result
    {
        let (result, settled) = state.withLock { state in
            let result = input(&state.machine)
            guard state.machine.isSettled else { return (result, [CheckedContinuation<Void, Never>]()) }
            defer { state.waiters.removeAll() }
            return (result, state.waiters)
        }
        for waiter in settled { waiter.resume() }
        return result
    }

    /// Reads the machine.
    package func read<Result>(_ body: (RegistrarStateMachine<Registration>) -> Result) -> Result {
        state.withLock { body($0.machine) }
    }

    /// Runs a `register()`: returns at once when registered already, waits for an operation
    /// under way, and otherwise calls `make` and records what it made (`make` must leave
    /// nothing behind when it throws).
    package func register(_ make: () async throws -> Registration) async throws {
        while true {
            switch withMachine({ $0.register() }) {
            case .none:
                return
            case .wait:
                await waitUntilSettled()
            case .register(let attempt):
                let registration: Registration
                do {
                    registration = try await make()
                } catch {
                    withMachine { $0.registrationFailed(attempt: attempt) }
                    throw error
                }
                // A deregister waits for this, so the registration is always kept here.
                _ = withMachine { $0.registered(attempt: attempt, registration) }
                return
            }
        }
    }

    /// Runs a `deregister()`: nothing to do when unregistered, waits for an operation under
    /// way, and otherwise calls `remove` with what is registered (`nil` if only a restoration
    /// was under way) and whether a restorer may still be running, which `remove` must end and
    /// await first; the state is unregistered afterwards, whatever `remove` threw.
    package func deregister(_ remove: (Registration?, _ restoring: Bool) async throws -> Void) async throws {
        while true {
            switch withMachine({ $0.deregister() }) {
            case .none:
                return
            case .wait:
                await waitUntilSettled()
            case .remove(let registration, let restoring):
                defer { withMachine { $0.deregistered() } }
                try await remove(registration, restoring)
                return
            }
        }
    }

    /// Returns once no registration or deregistration is under way.
    package func waitUntilSettled() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let settled = state.withLock { state -> Bool in
                if state.machine.isSettled { return true }
                state.waiters.append(continuation)
                return false
            }
            if settled { continuation.resume() }
        }
    }
}
