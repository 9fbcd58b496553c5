import CZooKeeper
import Discovery
import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A ZooKeeper session over the C client (libzookeeper_mt), with async/await operations.
///
/// - Plain disconnects are left to the library, which reconnects and keeps the session, its
///   ephemeral nodes and its watches.
/// - An expired session gets a new handle (never closed from its own callback), the
///   credentials are added again, and listeners hear ``ZooKeeperSessionEvent/expired`` and then
///   a `connected` event with a new session number, so that registrars re-create their nodes
///   and instancers re-list and re-arm their watches.
/// - Every C callback runs on the library's completion thread and only resumes a continuation
///   or calls a listener that must not block.
public final class ZooKeeperClient: Sendable {
    public struct Configuration: Sendable {
        /// `host:port[,host:port...]`, optionally followed by a chroot path (`/app`).
        public var connectString: String
        public var sessionTimeout: Duration
        /// Digest credentials, `user:password`; created nodes then get creator-all plus
        /// world-read ACLs.
        public var digest: String?
        /// Send the C client's own log to stderr (otherwise it is discarded).
        public var libraryLog: Bool

        public init(
            connectString: String, sessionTimeout: Duration = .seconds(10), digest: String? = nil,
            libraryLog: Bool = false
        ) {
            self.connectString = connectString
            self.sessionTimeout = sessionTimeout
            self.digest = digest
            self.libraryLog = libraryLog
        }
    }

    /// The session id and password, as `zoo_client_id` gives them.
    public struct SessionCredentials: Sendable, Hashable {
        public var id: Int64
        public var password: [UInt8]
    }

    /// What the session watcher of one handle refers to. Retained for the handle's life; the
    /// client is weak so that a late callback never touches a client being deinitialized.
    final class SessionContext: @unchecked Sendable {
        // @unchecked: both properties are set in init and never change.
        weak var client: ZooKeeperClient?
        let handleNumber: Int
        init(client: ZooKeeperClient, handleNumber: Int) {
            self.client = client
            self.handleNumber = handleNumber
        }
    }

    /// A `zhandle_t*` and its session context.
    struct Handle: @unchecked Sendable {
        // @unchecked: the C handle is thread-safe for the calls made on it, and is only used
        // under the client's lock; it is closed once, after it was taken out of the state.
        let raw: OpaquePointer
        let context: UnsafeMutableRawPointer
        let number: Int
    }

    private struct State: Sendable {
        var handle: Handle?
        var number = 0
        /// The number of a handle whose `zookeeper_init` has not returned yet. Its session
        /// events count already: under load, the library can connect and report it before the
        /// handle is installed (seen: sessions that never connected, one `bench propagation` in
        /// fifteen when six ran at once).
        var opening: Int?
        var sessionID: Int64 = 0
        var connected = false
        var authenticationFailed = false
        var closed = false
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var listeners: [UInt64: @Sendable (ZooKeeperSessionEvent) -> Void] = [:]
        var watches: [UInt64: WatchBox] = [:]
        var nextID: UInt64 = 0
        /// Counts disconnections, so that a session-loss timer knows whether its disconnection
        /// is still the current one.
        var disconnections = 0
        var reopenBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
    }

    public let configuration: Configuration
    let logger: Logger
    private let state = Mutex(State())
    /// Opens, reopens and closes handles, one at a time (internal for tests).
    let queue = DispatchQueue(label: "sdctl.zookeeper.session")

    /// Opens a session (asynchronously: operations wait for it, ``waitUntilConnected(timeout:)``
    /// waits explicitly). With `resuming`, it attaches to an existing session instead.
    public init(
        _ configuration: Configuration, resuming session: SessionCredentials? = nil,
        logger: Logger = DiscoveryLogging.disabled
    ) throws(DiscoveryError) {
        let logger = logger.forBackend("zookeeper")
        self.configuration = configuration
        self.logger = logger
        sdzk_set_log(configuration.libraryLog ? 2 : 1, configuration.libraryLog ? 1 : 0)
        try open(resuming: session)
    }

    deinit {
        let (handle, watches) = state.withLock { state -> (Handle?, [WatchBox]) in
            state.closed = true
            defer {
                state.handle = nil
                state.watches.removeAll()
            }
            return (state.handle, Array(state.watches.values))
        }
        guard let handle else { return }
        // The last reference may go on the library's completion thread (a callback's context),
        // where zookeeper_close must not run: close from a thread of our own.
        DispatchQueue.global().async {
            Self.close(handle)
            for box in watches where box.handleNumber == handle.number { box.abandon() }
        }
    }

    // MARK: - Session

    private func open(resuming session: SessionCredentials? = nil) throws(DiscoveryError) {
        let number = state.withLock { state -> Int in
            state.number += 1
            state.opening = state.number
            return state.number
        }
        let context = Unmanaged.passRetained(SessionContext(client: self, handleNumber: number)).toOpaque()
        let timeout = Int32(clamping: configuration.sessionTimeout.wholeMilliseconds)
        var identity = clientid_t()
        if let session {
            identity.client_id = session.id
            withUnsafeMutableBytes(of: &identity.passwd) { raw in
                for (index, byte) in session.password.prefix(raw.count).enumerated() { raw[index] = byte }
            }
        }
        let raw: OpaquePointer? = withUnsafePointer(to: &identity) { pointer in
            zookeeper_init(
                configuration.connectString, Trampolines.session, timeout, session == nil ? nil : pointer,
                context, 0)
        }
        guard let raw else {
            state.withLock { state in if state.opening == number { state.opening = nil } }
            Unmanaged<SessionContext>.fromOpaque(context).release()
            throw ZooKeeperError(
                code: ZBADARGUMENTS.rawValue,
                message:
                    "cannot open a session with '\(configuration.connectString)': \(String(cString: strerror(errno)))"
            ).discoveryError
        }
        let handle = Handle(raw: raw, context: context, number: number)
        let installed = state.withLock { state -> Bool in
            if state.opening == number { state.opening = nil }
            guard !state.closed else { return false }
            state.handle = handle
            return true
        }
        guard installed else {
            Self.close(handle)
            return
        }
        if let digest = configuration.digest { addAuthentication(scheme: "digest", digest, to: handle.raw) }
    }

    /// Adds credentials to the current session (tests use it with a scheme the server refuses).
    func addAuthentication(scheme: String, _ credentials: String) {
        _ = withHandle { handle in
            addAuthentication(scheme: scheme, credentials, to: handle)
            return ZOK.rawValue
        }
    }

    private func addAuthentication(scheme: String, _ credentials: String, to handle: OpaquePointer) {
        let logger = self.logger
        let report: @Sendable (Int32) -> Void = { rc in
            logger.error(
                "adding credentials failed",
                metadata: ["sd.scheme": "\(scheme)", "sd.error": "\(ZooKeeperError(code: rc))"])
        }
        let box = CompletionBox<Void> { rc, _ in if rc != ZOK.rawValue { report(rc) } }
        let pointer = box.opaque
        let rc = credentials.withCString { bytes in
            zoo_add_auth(handle, scheme, bytes, Int32(strlen(bytes)), Trampolines.void, pointer)
        }
        if rc != ZOK.rawValue {
            CompletionBox<Void>.drop(pointer)
            report(rc)
        }
    }

    /// Called on the completion thread for every session event of handle `handleNumber`.
    func sessionStateChanged(_ zkState: Int32, handleNumber: Int, handle raw: OpaquePointer) {
        var lossTimer: (disconnection: Int, after: Duration)?
        let (event, waiters, listeners):
            (
                ZooKeeperSessionEvent?, [CheckedContinuation<Bool, Never>],
                [@Sendable (ZooKeeperSessionEvent) -> Void]
            ) =
                state.withLock { state in
                    guard handleNumber == state.number, !state.closed,
                        state.handle?.number == handleNumber || state.opening == handleNumber
                    else {
                        return (nil, [], [])
                    }
                    var event: ZooKeeperSessionEvent?
                    var resumed: [CheckedContinuation<Bool, Never>] = []
                    switch zkState {
                    case ZOO_CONNECTED_STATE, ZOO_READONLY_STATE:
                        state.connected = true
                        state.sessionID = zoo_client_id(raw)?.pointee.client_id ?? 0
                        state.reopenBackoff.reset()
                        event = .connected(session: state.sessionID, number: state.number)
                        resumed = Array(state.waiters.values)
                        state.waiters.removeAll()
                    case ZOO_EXPIRED_SESSION_STATE:
                        state.connected = false
                        event = .expired
                    case ZOO_AUTH_FAILED_STATE:
                        state.connected = false
                        state.authenticationFailed = true
                        event = .authenticationFailed
                        resumed = Array(state.waiters.values)
                        state.waiters.removeAll()
                    case ZOO_CONNECTING_STATE, ZOO_ASSOCIATING_STATE, ZOO_NOTCONNECTED_STATE:
                        if state.connected {
                            event = .disconnected
                            state.disconnections += 1
                            lossTimer = (
                                state.disconnections,
                                .milliseconds(max(Int(zoo_recv_timeout(raw)), 1))
                            )
                        }
                        state.connected = false
                    default:
                        break
                    }
                    return (event, resumed, Array(state.listeners.values))
                }
        let connectedNow = event.map { if case .connected = $0 { true } else { false } } ?? false
        for waiter in waiters { waiter.resume(returning: connectedNow) }
        guard let event else { return }
        switch event {
        case .expired:
            logger.warning("session expired; opening a new one")
            queue.async { [weak self] in self?.replaceExpiredHandle() }
        case .authenticationFailed:
            logger.error("authentication failed")
        case .disconnected:
            logger.info("disconnected; the client reconnects by itself")
        default:
            break
        }
        for listener in listeners { listener(event) }
        if let (disconnection, after) = lossTimer {
            queue.asyncAfter(deadline: .now() + .nanoseconds(after.wholeNanoseconds)) { [weak self] in
                self?.sessionLost(disconnection: disconnection, handleNumber: handleNumber, after: after)
            }
        }
    }

    /// Curator's rule: disconnected for longer than the negotiated session timeout means the
    /// session is gone, whether or not a server ever says so. A server rebuilt with empty data
    /// refuses the old session for ever (the client has seen a newer zxid) instead of expiring
    /// it, so without this the client would retry that session indefinitely.
    private func sessionLost(disconnection: Int, handleNumber: Int, after: Duration) {
        let lost = state.withLock { state -> (Handle, [@Sendable (ZooKeeperSessionEvent) -> Void])? in
            guard !state.closed, !state.connected, state.number == handleNumber,
                state.disconnections == disconnection, let handle = state.handle
            else { return nil }
            // Taken out now, so that no late callback of the old handle counts any more.
            state.handle = nil
            return (handle, Array(state.listeners.values))
        }
        guard let (old, listeners) = lost else { return }
        logger.warning(
            "disconnected for longer than the session timeout; treating the session as expired",
            metadata: ["sd.timeout": "\(after)", "sd.servers": "\(configuration.connectString)"])
        for listener in listeners { listener(.expired) }
        reopen(closing: old)
    }

    /// Runs on `queue`: closes the expired handle (outside its callbacks) and opens a new one.
    private func replaceExpiredHandle() {
        let old = state.withLock { state -> Handle? in
            defer { state.handle = nil }
            return state.handle
        }
        reopen(closing: old)
    }

    /// Runs on `queue`: closes `old` if given, then opens a new session, retrying with backoff.
    private func reopen(closing old: Handle?) {
        if let old { closeAndForgetWatches(old) }
        guard !state.withLock({ $0.closed }) else { return }
        do {
            try open()
        } catch {
            let delay = state.withLock { $0.reopenBackoff.next() }
            logger.error(
                "cannot open a new session; retrying",
                metadata: ["sd.error": "\(error)", "sd.delay": "\(delay)"])
            queue.asyncAfter(deadline: .now() + .nanoseconds(delay.wholeNanoseconds)) { [weak self] in
                self?.reopen(closing: nil)
            }
        }
    }

    private func closeAndForgetWatches(_ handle: Handle) {
        Self.close(handle)
        // No callback of that handle can run any more: its unfired watches are ours to release.
        let orphans = state.withLock { state -> [WatchBox] in
            let orphans = state.watches.filter { $0.value.handleNumber == handle.number }
            for key in orphans.keys { state.watches.removeValue(forKey: key) }
            return Array(orphans.values)
        }
        for box in orphans { box.abandon() }
    }

    private static func close(_ handle: Handle) {
        zookeeper_close(handle.raw)
        Unmanaged<SessionContext>.fromOpaque(handle.context).release()
    }

    /// Waits until the session is connected; throws on timeout, authentication failure or close.
    public func waitUntilConnected(timeout: Duration) async throws(DiscoveryError) {
        if state.withLock({ $0.connected }) { return }  // the common case: no timer, no task
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            let waiter = self?.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: false)
        }
        defer { timer.cancel() }
        // Resumed with whether the session was connected at that moment: re-reading the state
        // afterwards could see a disconnect that came just after.
        // Cancelling the waiting task ends the wait (a signal during `sdctl register`).
        let connected = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let ready = state.withLock { state -> Bool? in
                    if state.connected { return true }
                    if state.closed || state.authenticationFailed || Task.isCancelled { return false }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
        if connected { return }
        if Task.isCancelled {
            throw ZooKeeperError(code: ZCONNECTIONLOSS.rawValue, message: "cancelled while connecting")
                .discoveryError
        }
        let (closed, authFailed) = state.withLock { ($0.closed, $0.authenticationFailed) }
        if authFailed {
            throw ZooKeeperError(code: ZAUTHFAILED.rawValue, message: "authentication failed").discoveryError
        }
        if closed {
            throw ZooKeeperError(code: ZCLOSING.rawValue, message: "the client is closed").discoveryError
        }
        throw ZooKeeperError(
            code: ZCONNECTIONLOSS.rawValue,
            message: "cannot reach ZooKeeper at \(configuration.connectString) within \(timeout)"
        ).discoveryError
    }

    /// Counts the sessions this client has had (1 for the first; each expiry adds one).
    public var sessionNumber: Int { state.withLock { $0.number } }

    /// Whether the session is connected right now.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// The current session's id and password (for tests that force an expiry).
    public var sessionCredentials: SessionCredentials? {
        state.withLock { state in
            guard state.connected, let handle = state.handle, let id = zoo_client_id(handle.raw) else {
                return nil
            }
            let password = withUnsafeBytes(of: id.pointee.passwd) { Array($0) }
            return SessionCredentials(id: id.pointee.client_id, password: password)
        }
    }

    /// Calls `listener` (on the C client's completion thread: it must not block) for every
    /// session event until the returned token is cancelled.
    public func onSessionEvent(_ listener: @escaping @Sendable (ZooKeeperSessionEvent) -> Void)
        -> ListenerToken
    {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.listeners[state.nextID] = listener
            return state.nextID
        }
        return ListenerToken { [weak self] in
            self?.state.withLock { _ = $0.listeners.removeValue(forKey: id) }
        }
    }

    /// Ends a session listener.
    public struct ListenerToken: Sendable {
        let cancelAction: @Sendable () -> Void
        public func cancel() { cancelAction() }
    }

    /// Closes the session (its ephemeral nodes go at once). Idempotent. Called from one of the
    /// library's callbacks, it returns at once and the handle closes on another thread.
    public func close() {
        let (handle, waiters, listeners) = state.withLock {
            state -> (
                Handle?, [CheckedContinuation<Bool, Never>], [@Sendable (ZooKeeperSessionEvent) -> Void]
            ) in
            guard !state.closed else { return (nil, [], []) }
            state.closed = true
            state.connected = false
            defer {
                state.handle = nil
                state.waiters.removeAll()
                state.listeners.removeAll()
            }
            return (state.handle, Array(state.waiters.values), Array(state.listeners.values))
        }
        for waiter in waiters { waiter.resume(returning: false) }
        if let handle {
            if CompletionThread.isCurrent {
                // Called from a callback (an owning instancer's last reference went there): the
                // queue may be closing an old handle, which joins this very thread. Waiting for it
                // here would never end, so the close runs on a thread of its own.
                DispatchQueue.global().async { self.queue.sync { self.closeAndForgetWatches(handle) } }
            } else {
                queue.sync { closeAndForgetWatches(handle) }
            }
        }
        for listener in listeners { listener(.closed) }
    }

    // MARK: - Submitting requests

    /// Issues one asynchronous request on the current handle and waits for its completion.
    func submit<Value: Sendable>(
        _ issue: (OpaquePointer, UnsafeMutableRawPointer) -> Int32
    ) async -> (Int32, Value?) {
        await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, Value?), Never>) in
            let box = CompletionBox<Value> { rc, value in continuation.resume(returning: (rc, value)) }
            let pointer = box.opaque
            let rc = withHandle { issue($0, pointer) }
            if rc != ZOK.rawValue {
                CompletionBox<Value>.drop(pointer)
                continuation.resume(returning: (rc, nil))
            }
        }
    }

    /// Runs `body` with the live handle under the lock, so that it cannot be closed meanwhile.
    /// The asynchronous C calls only queue a request, so this never blocks for long.
    func withHandle(_ body: (OpaquePointer) -> Int32) -> Int32 {
        state.withLock { state in
            if state.closed { return ZCLOSING.rawValue }
            if state.authenticationFailed { return ZAUTHFAILED.rawValue }
            guard let handle = state.handle else { return ZINVALIDSTATE.rawValue }
            return body(handle.raw)
        }
    }

    /// Registers a one-shot watch box for the current handle; `nil` if there is none.
    func makeWatch(_ onFire: @escaping @Sendable () -> Void) -> (WatchBox, UInt64)? {
        state.withLock { state in
            guard let handle = state.handle, !state.closed else { return nil }
            state.nextID += 1
            let id = state.nextID
            let box = WatchBox(handleNumber: handle.number) { [weak self] in
                self?.state.withLock { _ = $0.watches.removeValue(forKey: id) }
                onFire()
            }
            state.watches[id] = box
            return (box, id)
        }
    }

    /// Watches handed out and not yet fired or given up.
    var pendingWatchCount: Int { state.withLock { $0.watches.count } }

    func forgetWatch(_ id: UInt64) {
        state.withLock { _ = $0.watches.removeValue(forKey: id) }
    }
}
