/// The lifecycle of one registration, shared by the registrars of every backend:
/// unregistered, registering, registered, restoring (the backend dropped it and it is being put
/// back), deregistering.
///
/// Each input mutates the state and returns what the registrar must do, which it does after
/// releasing its lock (the `Mutex<State>`-returns-actions style of
/// ``SubscriptionStateMachine``). It settles every race between the operations:
/// - a second `register()` while one is under way waits for it instead of registering twice;
/// - a `deregister()` while registering waits for that to finish, then removes what it made;
/// - a `deregister()` while restoring wins: the restorer, on finishing, is told to remove what
///   it just made instead of keeping it, so a restoration never brings a registration back
///   after `deregister()` returned;
/// - a registration dropped by the backend is restored only while it is wanted.
///
/// `Registration` is what the backend needs to remove it (a node path, a lease).
package struct RegistrarStateMachine<Registration: Sendable>: Sendable {
    package enum State: Sendable {
        case unregistered
        case registering(attempt: Int)
        case registered(Registration)
        /// `previous` is what was there before the backend dropped it, if anything may remain.
        case restoring(previous: Registration?, attempt: Int)
        case deregistering
    }

    package enum RegisterAction: Sendable {
        /// Register, then report ``registered(attempt:_:)`` or ``registrationFailed(attempt:)``.
        case register(attempt: Int)
        /// Nothing to do: registered already (or being restored).
        case none
        /// Another operation is under way: wait for ``SettleAction`` and call again.
        case wait
    }

    package enum DeregisterAction: Sendable {
        /// Remove `registration` (if any is known), then report ``deregistered()``. A restorer
        /// still running learns that its work is unwanted when it reports.
        case remove(Registration?, cancelRestorer: Bool)
        /// Nothing registered.
        case none
        /// Another operation is under way: wait for it to settle and call again.
        case wait
    }

    package enum CompletionAction: Sendable, Equatable {
        /// Keep it.
        case none
        /// It is not wanted any more: remove what was just made.
        case undo
    }

    package enum LossAction: Sendable {
        /// Restore it: run the restorer for `attempt` while ``isRestoring(attempt:)``.
        case restore(attempt: Int, previous: Registration?)
        case none
    }

    package private(set) var state: State = .unregistered
    private var attempts = 0

    package init() {}

    package var isRegistered: Bool {
        switch state {
        case .registered, .restoring: true
        default: false
        }
    }

    /// The current registration, if there is one (not while it is being restored).
    package var registration: Registration? {
        if case .registered(let registration) = state { return registration }
        return nil
    }

    package mutating func register() -> RegisterAction {
        switch state {
        case .unregistered:
            attempts += 1
            state = .registering(attempt: attempts)
            return .register(attempt: attempts)
        case .registered, .restoring:
            return .none
        case .registering, .deregistering:
            return .wait
        }
    }

    package mutating func registered(attempt: Int, _ registration: Registration) -> CompletionAction {
        guard case .registering(attempt) = state else { return .undo }
        state = .registered(registration)
        return .none
    }

    package mutating func registrationFailed(attempt: Int) {
        guard case .registering(attempt) = state else { return }
        state = .unregistered
    }

    /// The backend dropped the registration (session expired, lease lost).
    package mutating func lost(keeping previous: Registration? = nil) -> LossAction {
        guard case .registered = state else { return .none }
        attempts += 1
        state = .restoring(previous: previous, attempt: attempts)
        return .restore(attempt: attempts, previous: previous)
    }

    /// Whether restorer `attempt` should go on trying.
    package func isRestoring(attempt: Int) -> Bool {
        if case .restoring(_, attempt) = state { return true }
        return false
    }

    package mutating func restored(attempt: Int, _ registration: Registration) -> CompletionAction {
        guard case .restoring(_, attempt) = state else { return .undo }
        state = .registered(registration)
        return .none
    }

    package mutating func deregister() -> DeregisterAction {
        switch state {
        case .unregistered:
            return .none
        case .registered(let registration):
            state = .deregistering
            return .remove(registration, cancelRestorer: false)
        case .restoring(let previous, _):
            state = .deregistering
            return .remove(previous, cancelRestorer: true)
        case .registering, .deregistering:
            return .wait
        }
    }

    package mutating func deregistered() {
        guard case .deregistering = state else { return }
        state = .unregistered
    }

    /// Whether an operation that got ``RegisterAction/wait`` or ``DeregisterAction/wait`` may
    /// try again now.
    package var isSettled: Bool {
        switch state {
        case .registering, .deregistering: false
        default: true
        }
    }
}
