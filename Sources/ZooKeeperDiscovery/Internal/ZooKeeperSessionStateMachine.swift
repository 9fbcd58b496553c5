import Discovery

/// The session of a ``ZooKeeperClient``, and every decision about it.
///
/// The client feeds it what happens to its handles (opened, session events from the C client,
/// timers, `close()`) and performs the action each input returns after releasing its lock:
/// resuming the waiters, telling the listeners, closing or replacing a handle. `Handle` is the
/// client's `zhandle_t` wrapper; tests use any value.
///
/// - Handles are numbered; events of any handle but the newest are ignored. The newest counts
///   from before `zookeeper_init` returns (``beginOpening()``), because under load the library
///   can connect and report it before the handle is installed.
/// - Authentication failure and close are final.
/// - A disconnect starts a loss timer of the negotiated receive timeout; if the same
///   disconnection is still current when it fires, the session is given up as expired
///   (Curator's rule) and a new handle replaces the old one.
struct ZooKeeperSessionStateMachine<Handle: Sendable>: Sendable {
    enum Phase: Sendable, Equatable {
        /// The newest handle has not connected yet.
        case connecting
        case connected(sessionID: Int64)
        /// The connection dropped; the library is reconnecting within the same session.
        /// `disconnection` counts disconnections, so that a loss timer knows whether its
        /// disconnection is still the current one.
        case disconnected(disconnection: Int)
        /// The session expired or was given up: a new handle replaces the old one.
        case expired
        case authenticationFailed
        case closed
    }

    /// A session state of the C client (`ZOO_*_STATE`), as far as it matters here.
    enum LibraryState: Sendable, Equatable {
        case connected
        case expired
        case authenticationFailed
        /// Connecting, associating or not connected.
        case connecting
    }

    enum EventAction: Sendable, Equatable {
        /// Resume the waiters (connected) and tell the listeners.
        case connected(ZooKeeperSessionEvent)
        /// Tell the listeners, then replace the handle (on the client's queue: never from its own
        /// callback).
        case expired
        /// Resume the waiters (not connected) and tell the listeners.
        case authenticationFailed
        /// Tell the listeners, and after `lossAfter` report ``lossTimerFired(disconnection:handleNumber:)``.
        case disconnected(disconnection: Int, lossAfter: Duration)
        case none
    }

    enum HandleAccess: Sendable {
        case handle(Handle)
        case closed
        case authenticationFailed
        /// Between handles (an expired one taken out, its successor not installed yet).
        case none
    }

    enum CloseAction: Sendable {
        /// Close this handle (if one is installed), resume the waiters (not connected) and tell
        /// the listeners.
        case close(Handle?)
        /// Closed already: nothing to do.
        case none
    }

    enum WaitOutcome: Sendable, Equatable {
        case connected
        /// Closed or refused: waiting cannot succeed.
        case failed
        case wait
    }

    private(set) var phase = Phase.connecting
    /// How many handles were opened; the newest has this number. Counts sessions, too: a
    /// handle is opened for the first session and after each expiry.
    private(set) var number = 0
    /// The number of a handle whose `zookeeper_init` has not returned yet.
    // Its events count already: without that, sessions that connected before their handle was
    // installed never counted as connected (one `bench propagation` in fifteen, six at once).
    private(set) var opening: Int?
    private(set) var installed: (handle: Handle, number: Int)?
    private var disconnections = 0
    private var reopenBackoff: Backoff

    init(reopenBackoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))) {
        self.reopenBackoff = reopenBackoff
    }

    var isConnected: Bool {
        if case .connected = phase { return true }
        return false
    }

    var isClosed: Bool { phase == .closed }

    // MARK: - Handles

    /// A handle is about to be opened. Returns its number.
    mutating func beginOpening() -> Int {
        number += 1
        opening = number
        return number
    }

    /// `zookeeper_init` failed for handle `number`.
    mutating func openFailed(number: Int) {
        if opening == number { opening = nil }
    }

    /// Handle `number` is open. Returns whether it was installed; if not (the client closed
    /// meanwhile), close it.
    mutating func opened(_ handle: Handle, number: Int) -> Bool {
        if opening == number { opening = nil }
        guard phase != .closed else { return false }
        installed = (handle, number)
        return true
    }

    /// Takes the current handle out to replace it (after an expiry), so that no late callback
    /// of it counts any more.
    mutating func takeHandleForReplacement() -> Handle? {
        defer { installed = nil }
        return installed?.handle
    }

    /// Opening a replacement failed. Returns how long to wait before trying again.
    mutating func reopenFailed() -> Duration {
        reopenBackoff.next()
    }

    /// The handle to issue a request on, or why there is none.
    var handleForRequest: HandleAccess {
        switch phase {
        case .closed: return .closed
        case .authenticationFailed: return .authenticationFailed
        default: return installed.map { .handle($0.handle) } ?? .none
        }
    }

    /// The current handle, unless closed.
    var currentHandle: (handle: Handle, number: Int)? {
        phase == .closed ? nil : installed
    }

    // MARK: - Session events

    /// The C client reported `state` for handle `handleNumber`; `sessionID` is that handle's
    /// session id and `receiveTimeout` its negotiated receive timeout.
    mutating func libraryStateChanged(
        _ state: LibraryState, handleNumber: Int, sessionID: Int64, receiveTimeout: Duration
    ) -> EventAction {
        guard handleNumber == number, installed?.number == handleNumber || opening == handleNumber else {
            return .none
        }
        switch phase {
        case .closed, .authenticationFailed: return .none
        case .connecting, .connected, .disconnected, .expired: break
        }
        switch state {
        case .connected:
            phase = .connected(sessionID: sessionID)
            reopenBackoff.reset()
            return .connected(.connected(session: sessionID, number: number))
        case .expired:
            phase = .expired
            return .expired
        case .authenticationFailed:
            phase = .authenticationFailed
            return .authenticationFailed
        case .connecting:
            guard case .connected = phase else { return .none }
            disconnections += 1
            phase = .disconnected(disconnection: disconnections)
            return .disconnected(disconnection: disconnections, lossAfter: receiveTimeout)
        }
    }

    /// The loss timer of `disconnection` fired. If that disconnection is still current, the
    /// session is given up: returns the handle to close before opening a new one (the listeners
    /// hear ``ZooKeeperSessionEvent/expired``).
    mutating func lossTimerFired(disconnection: Int, handleNumber: Int) -> Handle? {
        guard case .disconnected(disconnection) = phase, number == handleNumber,
            let handle = installed?.handle
        else { return nil }
        phase = .expired
        installed = nil
        return handle
    }

    // MARK: - Waiting and closing

    /// Whether a waiter for a connection can stop waiting.
    var waitOutcome: WaitOutcome {
        switch phase {
        case .connected: .connected
        case .closed, .authenticationFailed: .failed
        case .connecting, .disconnected, .expired: .wait
        }
    }

    /// Closes the session (idempotent).
    mutating func close() -> CloseAction {
        guard phase != .closed else { return .none }
        phase = .closed
        defer { installed = nil }
        return .close(installed?.handle)
    }
}
