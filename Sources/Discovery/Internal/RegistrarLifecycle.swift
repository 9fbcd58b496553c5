import Synchronization

/// A ``RegistrarStateMachine`` behind a lock, and the keeper that holds a registration while it
/// is wanted: the lifecycle starts the keeper once registered, cancels and awaits it when
/// deregistering, and runs the restoration a keeper asks for. A registrar supplies what
/// registering, keeping, restoring and removing mean for its backend; the client is the
/// caller's, so register after deregister works.
package final class RegistrarLifecycle<Registration: Sendable>: Sendable {
    private struct State: Sendable {
        var machine = RegistrarStateMachine<Registration>()
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Keeps the registration (passes checks, renews the lease, restores); one at a time.
        var keeper: Task<Void, Never>?
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
    /// under way, and otherwise calls `make`, records what it made and starts `keep` with it
    /// (`make` must leave nothing behind when it throws). `keep` runs until it returns or is
    /// cancelled by the deregistration; it must not hold the registrar strongly across waits.
    package func register(
        _ make: () async throws -> Registration,
        keep: (@Sendable (Registration) async -> Void)? = nil
    ) async throws {
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
                // The keeper is in place before the state says registered, so a deregister
                // (which waits for this) always finds it.
                if let keep { startKeeper { await keep(registration) } }
                // A deregister waits for this, so the registration is always kept here.
                _ = withMachine { $0.registered(attempt: attempt, registration) }
                return
            }
        }
    }

    /// Starts `body` as the keeper when the registration was lost outside any keeper (a
    /// ZooKeeper session event); a keeper still running is cancelled first.
    package func startKeeper(_ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        let previous = state.withLock { state in
            defer { state.keeper = task }
            return state.keeper
        }
        previous?.cancel()
    }

    /// Runs a `deregister()`: nothing to do when unregistered, waits for an operation under
    /// way, and otherwise calls `beforeKeeperStops`, cancels and awaits the keeper (one that was
    /// restoring finds its work unwanted and undoes it), then calls `remove`. Both get what is
    /// registered (`nil` if only a restoration was under way) and whether a restoration was
    /// under way. The state is unregistered afterwards, whatever they threw; an error of
    /// `beforeKeeperStops` skips `remove`.
    package func deregister(
        beforeKeeperStops: (Registration?, _ restoring: Bool) async throws -> Void = { _, _ in },
        _ remove: (Registration?, _ restoring: Bool) async throws -> Void
    ) async throws {
        while true {
            switch withMachine({ $0.deregister() }) {
            case .none:
                return
            case .wait:
                await waitUntilSettled()
            case .remove(let registration, let restoring):
                defer { withMachine { $0.deregistered() } }
                var early: (any Error)?
                do {
                    try await beforeKeeperStops(registration, restoring)
                } catch {
                    early = error
                }
                await stopKeeper()
                if let early { throw early }
                try await remove(registration, restoring)
                return
            }
        }
    }

    private func stopKeeper() async {
        let keeper = state.withLock { state in
            defer { state.keeper = nil }
            return state.keeper
        }
        keeper?.cancel()
        await keeper?.value
    }

    /// Restores a lost registration for restoration `attempt`: calls `make` until it works or
    /// the registration is no longer wanted, waiting `backoff` between tries (`failed` hears
    /// each failure and the wait). Each `make` runs shielded from the keeper's cancellation: a
    /// call cancelled in flight may still have taken effect, and what it made must be either
    /// kept or undone. What is made after a deregistration began is given to `undo`, which also
    /// runs shielded; `nil` then. Returns the restored registration, recorded as registered.
    package func restore(
        attempt: Int, backoff: Backoff,
        make: @escaping @Sendable () async throws -> Registration,
        undo: @escaping @Sendable (Registration) async -> Void,
        failed: (any Error, Duration) -> Void
    ) async -> Registration? {
        var backoff = backoff
        while read({ $0.isRestoring(attempt: attempt) }) && !Task.isCancelled {
            let made = await Task { () async -> Result<Registration, any Error> in
                do {
                    return .success(try await make())
                } catch {
                    return .failure(error)
                }
            }.value
            switch made {
            case .success(let registration):
                if withMachine({ $0.restored(attempt: attempt, registration) }) == .undo {
                    await Task { await undo(registration) }.value
                    return nil
                }
                return registration
            case .failure(let error):
                let delay = backoff.next()
                failed(error, delay)
                try? await Task.sleep(for: delay)
            }
        }
        return nil
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
