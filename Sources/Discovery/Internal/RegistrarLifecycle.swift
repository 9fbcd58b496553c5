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
