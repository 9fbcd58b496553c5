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
/// Its session decisions are a state machine's (docs/zookeeper.md); this type performs them
/// (opening and closing handles, resuming waiters, telling listeners) outside its lock.
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
        var session = ZooKeeperSessionStateMachine<Handle>()
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var listeners: [UInt64: @Sendable (ZooKeeperSessionEvent) -> Void] = [:]
        var watches: [UInt64: WatchBox] = [:]
        var nextID: UInt64 = 0
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
        let (action, watches) = state.withLock { state in
            defer { state.watches.removeAll() }
            return (state.session.close(), Array(state.watches.values))
        }
        guard case .close(let handle?) = action else { return }
        // The last reference may go on the library's completion thread (a callback's context),
        // where zookeeper_close must not run: close from a thread of our own.
        DispatchQueue.global().async {
            Self.close(handle)
            for box in watches where box.handleNumber == handle.number { box.abandon() }
        }
    }

    // MARK: - Session

    private func open(resuming session: SessionCredentials? = nil) throws(DiscoveryError) {
        let number = state.withLock { $0.session.beginOpening() }
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
            state.withLock { $0.session.openFailed(number: number) }
            Unmanaged<SessionContext>.fromOpaque(context).release()
            throw ZooKeeperError(
                code: ZBADARGUMENTS.rawValue,
                message:
                    "cannot open a session with '\(configuration.connectString)': \(String(cString: strerror(errno)))"
            ).discoveryError
        }
        let handle = Handle(raw: raw, context: context, number: number)
        let installed = state.withLock { $0.session.opened(handle, number: number) }
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
        guard let libraryState = Self.libraryState(zkState) else { return }
        // The handle is valid during its own callback.
        let sessionID = zoo_client_id(raw)?.pointee.client_id ?? 0
        let receiveTimeout = Duration.milliseconds(max(Int(zoo_recv_timeout(raw)), 1))
        let (action, waiters, listeners) = state.withLock { state in
            let action = state.session.libraryStateChanged(
                libraryState, handleNumber: handleNumber, sessionID: sessionID, receiveTimeout: receiveTimeout
            )
            var waiters: [CheckedContinuation<Bool, Never>] = []
            switch action {
            case .connected, .authenticationFailed:
                waiters = Array(state.waiters.values)
                state.waiters.removeAll()
            case .expired, .disconnected, .none:
                break
            }
            return (action, waiters, Array(state.listeners.values))
        }
        let event: ZooKeeperSessionEvent
        switch action {
        case .none:
            return
        case .connected(let connected):
            for waiter in waiters { waiter.resume(returning: true) }
            event = connected
        case .expired:
            logger.warning("session expired; opening a new one")
            queue.async { [weak self] in self?.replaceExpiredHandle() }
            event = .expired
        case .authenticationFailed:
            for waiter in waiters { waiter.resume(returning: false) }
            logger.error("authentication failed")
            event = .authenticationFailed
        case .disconnected(let disconnection, let after):
            logger.info("disconnected; the client reconnects by itself")
            for listener in listeners { listener(.disconnected) }
            queue.asyncAfter(deadline: .now() + .nanoseconds(after.wholeNanoseconds)) { [weak self] in
                self?.sessionLost(disconnection: disconnection, handleNumber: handleNumber, after: after)
            }
            return
        }
        for listener in listeners { listener(event) }
    }

    private static func libraryState(
        _ zkState: Int32
    ) -> ZooKeeperSessionStateMachine<Handle>.LibraryState? {
        switch zkState {
        case ZOO_CONNECTED_STATE, ZOO_READONLY_STATE: .connected
        case ZOO_EXPIRED_SESSION_STATE: .expired
        case ZOO_AUTH_FAILED_STATE: .authenticationFailed
        case ZOO_CONNECTING_STATE, ZOO_ASSOCIATING_STATE, ZOO_NOTCONNECTED_STATE: .connecting
        default: nil
        }
    }

    /// Curator's rule: disconnected for longer than the negotiated session timeout means the
    /// session is gone, whether or not a server ever says so. A server rebuilt with empty data
    /// refuses the old session for ever (the client has seen a newer zxid) instead of expiring
    /// it, so without this the client would retry that session indefinitely.
    private func sessionLost(disconnection: Int, handleNumber: Int, after: Duration) {
        let lost = state.withLock { state -> (Handle, [@Sendable (ZooKeeperSessionEvent) -> Void])? in
            // Taken out now, so that no late callback of the old handle counts any more.
            guard
                let handle = state.session.lossTimerFired(
                    disconnection: disconnection, handleNumber: handleNumber)
            else { return nil }
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
        let old = state.withLock { $0.session.takeHandleForReplacement() }
        reopen(closing: old)
    }

    /// Runs on `queue`: closes `old` if given, then opens a new session, retrying with backoff.
    private func reopen(closing old: Handle?) {
        if let old { closeAndForgetWatches(old) }
        guard !state.withLock({ $0.session.isClosed }) else { return }
        do {
            try open()
        } catch {
            let delay = state.withLock { $0.session.reopenFailed() }
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
        if state.withLock({ $0.session.isConnected }) { return }  // the common case: no timer, no task
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
                    switch state.session.waitOutcome {
                    case .connected: return true
                    case .failed: return false
                    case .wait:
                        if Task.isCancelled { return false }
                        state.waiters[id] = continuation
                        return nil
                    }
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
        switch state.withLock({ $0.session.phase }) {
        case .authenticationFailed:
            throw ZooKeeperError(code: ZAUTHFAILED.rawValue, message: "authentication failed").discoveryError
        case .closed:
            throw ZooKeeperError(code: ZCLOSING.rawValue, message: "the client is closed").discoveryError
        case .connecting, .connected, .disconnected, .expired:
            break
        }
        throw ZooKeeperError(
            code: ZCONNECTIONLOSS.rawValue,
            message: "cannot reach ZooKeeper at \(configuration.connectString) within \(timeout)"
        ).discoveryError
    }

    /// Counts the sessions this client has had (1 for the first; each expiry adds one).
    public var sessionNumber: Int { state.withLock { $0.session.number } }

    /// Whether the session is connected right now.
    public var isConnected: Bool { state.withLock { $0.session.isConnected } }

    /// The current session's id and password (for tests that force an expiry).
    public var sessionCredentials: SessionCredentials? {
        state.withLock { state in
            guard state.session.isConnected, let handle = state.session.currentHandle?.handle,
                let id = zoo_client_id(handle.raw)
            else {
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
            guard case .close(let handle) = state.session.close() else { return (nil, [], []) }
            defer {
                state.waiters.removeAll()
                state.listeners.removeAll()
            }
            return (handle, Array(state.waiters.values), Array(state.listeners.values))
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
            switch state.session.handleForRequest {
            case .handle(let handle): body(handle.raw)
            case .closed: ZCLOSING.rawValue
            case .authenticationFailed: ZAUTHFAILED.rawValue
            case .none: ZINVALIDSTATE.rawValue
            }
        }
    }

    /// Registers a one-shot watch box for the current handle; `nil` if there is none.
    func makeWatch(_ onFire: @escaping @Sendable () -> Void) -> (WatchBox, UInt64)? {
        state.withLock { state in
            guard let (_, number) = state.session.currentHandle else { return nil }
            state.nextID += 1
            let id = state.nextID
            let box = WatchBox(handleNumber: number) { [weak self] in
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
