import CZooKeeper
import Discovery
import Dispatch
import Logging
import Synchronization

/// The watch behind a ``ZooKeeperInstancer``, driven by the C client's callbacks; it publishes
/// into the instancer's cache. Its callbacks hold it weakly; the instancer's core holds it until
/// it stops.
final class ZooKeeperChildrenWatch: Sendable {
    let path: String
    let client: ZooKeeperClient
    private let cache: InstanceCache
    private let connectTimeout: Duration
    private let logger: Logger
    private let queue = DispatchQueue(label: "sdctl.zookeeper.instancer")
    private let state = Mutex(State())

    private struct State: Sendable {
        /// The children read, usable or not (their instances, ids the names, are in `sorted`).
        // Names only: instances held twice cost 16 MB at 100,000 children.
        var known: Set<String> = []
        /// The usable instances of `known`, kept sorted so that a change costs an insertion,
        /// not a sort of the whole set.
        var sorted: [Instance] = []
        var listing = false
        var again = false
        var stopped = false
        var sessionNumber = 0
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10))
        var listener: ZooKeeperClient.ListenerToken?
        /// Whether a set was ever published (so a reconnect can publish it again).
        var listedOnce = false
        /// Whether a connection failure was published since the last set.
        var reportedUnconnected = false
        /// Whether a timer is checking the connection (one at a time).
        var checkingConnection = false
        /// Whether a children watch armed in this session is still pending: a listing retried
        /// after a failed data read must not arm another (each would fire a listing).
        var watchArmed = false
    }

    init(
        client: ZooKeeperClient, path: String, connectTimeout: Duration, cache: InstanceCache, logger: Logger
    ) {
        self.client = client
        self.path = path
        self.cache = cache
        self.connectTimeout = connectTimeout
        self.logger = logger
    }

    /// Listens to the session and lists the children once connected.
    func begin() {
        let token = client.onSessionEvent { [weak self] event in self?.sessionChanged(event) }
        state.withLock { $0.listener = token }
        if client.isConnected {
            state.withLock { $0.sessionNumber = client.sessionNumber }
            list()
        } else {
            checkConnection()
        }
    }

    /// Ends the watch: no listing or connection check starts after this.
    func stop() {
        let listener = state.withLock { state -> ZooKeeperClient.ListenerToken? in
            state.stopped = true
            defer { state.listener = nil }
            return state.listener
        }
        listener?.cancel()
    }

    // MARK: - The state machine (runs on the C client's completion thread or `queue`)

    private func sessionChanged(_ event: ZooKeeperSessionEvent) {
        switch event {
        case .connected(_, let number):
            // A reconnect in the same session keeps the library's watches; a new session
            // (after an expiry) has none: list again and re-arm.
            // A reconnect in the same session after a reported outage republishes the set, so
            // that subscribers see the outage end (the watch fires if anything changed).
            let relist = state.withLock { state -> Bool in
                defer { state.sessionNumber = number }
                return state.sessionNumber != number
            }
            if relist {
                state.withLock { state in
                    state.reportedUnconnected = false
                    state.watchArmed = false  // a new session has none of the old one's watches
                }
                list()
            } else {
                republishAfterOutage()
            }
        case .authenticationFailed:
            cache.fail(DiscoveryError(.permissionDenied, "zookeeper: authentication failed"))
        case .expired:
            cache.fail(DiscoveryError(.unavailable, "zookeeper: session expired; opening a new one"))
        case .disconnected:
            // The library reconnects by itself, often within milliseconds to another member;
            // an outage that lasts `connectTimeout` is an error event.
            checkConnection()
        case .closed:
            break
        }
    }

    /// Publishes a failure if the client is still unconnected after `connectTimeout`, and
    /// again every `connectTimeout` while it stays so (identical events are not re-sent).
    private func checkConnection() {
        let start = state.withLock { state -> Bool in
            guard !state.checkingConnection, !state.stopped else { return false }
            state.checkingConnection = true
            return true
        }
        guard start else { return }
        scheduleConnectionCheck()
    }

    private func scheduleConnectionCheck() {
        queue.asyncAfter(deadline: .now() + .nanoseconds(connectTimeout.wholeNanoseconds)) { [weak self] in
            guard let self else { return }
            let connected = client.isConnected
            let report = state.withLock { state -> (everConnected: Bool, Void)? in
                let report = !state.stopped && !connected
                state.checkingConnection = report
                guard report else { return nil }
                state.reportedUnconnected = true
                return (state.sessionNumber != 0, ())
            }
            guard let report else { return }
            let servers = client.configuration.connectString
            cache.fail(
                DiscoveryError(
                    .unavailable,
                    report.everConnected
                        ? "zookeeper: lost the connection to ZooKeeper at \(servers); reconnecting"
                        : "zookeeper: cannot reach ZooKeeper at \(servers) within \(connectTimeout)"))
            // A reconnect that came while this was being published must not leave it standing.
            if client.isConnected { republishAfterOutage() }
            scheduleConnectionCheck()
        }
    }

    /// Publishes the set again after a reported outage, once.
    private func republishAfterOutage() {
        let set = state.withLock { state -> [Instance]? in
            defer { state.reportedUnconnected = false }
            return state.reportedUnconnected && state.listedOnce ? state.sorted : nil
        }
        if let set { cache.update(set) }
    }

    /// Starts a listing, or asks for one more if one is under way.
    private func list() {
        let arm = state.withLock { state -> Bool? in
            guard !state.stopped else { return nil }
            if state.listing {
                state.again = true
                return nil
            }
            state.listing = true
            return !state.watchArmed
        }
        guard let arm else { return }
        var onChange: (@Sendable () -> Void)?
        if arm { onChange = { [weak self] in self?.watchFired() } }
        client.requestChildren(
            path, onChange: onChange,
            completion: { [weak self] rc, names in self?.listed(rc, names, armed: arm) })
    }

    private func watchFired() {
        state.withLock { $0.watchArmed = false }
        list()
    }

    private func listed(_ rc: Int32, _ names: [String], armed: Bool) {
        // The library arms a watch only with a successful answer.
        if armed, rc == ZOK.rawValue { state.withLock { $0.watchArmed = true } }
        guard rc == ZOK.rawValue else {
            if rc == ZNONODE.rawValue {
                createPathThenList()
            } else {
                failed(ZooKeeperError(code: rc, path: path).discoveryError)
            }
            return
        }
        let fresh = state.withLock { state in names.filter { !state.known.contains($0) } }
        client.requestData(fresh.map { "\(path)/\($0)" }) { [weak self] results in
            self?.read(names: names, fresh: fresh, results: results)
        }
    }

    private func read(names: [String], fresh: [String], results: [Result<[UInt8], ZooKeeperError>]) {
        var parsed: [(name: String, instance: Instance?)] = []
        parsed.reserveCapacity(fresh.count)
        for (name, result) in zip(fresh, results) {
            switch result {
            case .success(let bytes):
                parsed.append((name, Self.parse(bytes, name: name, path: path, logger: logger)))
            case .failure(let error) where error.isNoNode:
                continue  // gone since the listing; the watch brings the next one
            case .failure(let error):
                failed(error.discoveryError)
                return
            }
        }
        let set = state.withLock { state -> [Instance] in
            // Every listed name is either fresh or known, so if the known ones plus the fresh
            // ones account for all of them, nothing was removed and no set needs building.
            if names.count - fresh.count != state.known.count {
                let gone = state.known.subtracting(names)
                state.known.subtract(gone)
                state.sorted.removeAll { gone.contains($0.id ?? "") }
            }
            for (name, _) in parsed { state.known.insert(name) }
            let added = parsed.compactMap(\.instance)
            if added.count <= 8 {
                for instance in added {
                    state.sorted.insert(instance, at: state.sorted.partitioningIndex { !($0 < instance) })
                }
            } else {
                // Many at once (the first listing): one sort. An insertion each moved half the
                // array every time, O(N^2): 28.7 s for the first listing of 100,000 children.
                state.sorted.append(contentsOf: added)
                state.sorted.sort()
            }
            state.backoff.reset()
            state.listedOnce = true
            return state.sorted
        }
        cache.update(set)
        finishListing()
    }

    private func finishListing() {
        let again = state.withLock { state -> Bool in
            state.listing = false
            defer { state.again = false }
            return state.again && !state.stopped
        }
        if again { list() }
    }

    private func failed(_ error: DiscoveryError) {
        cache.fail(error)
        let delay = state.withLock { state -> Duration in
            state.listing = false
            state.again = false
            return state.backoff.next()
        }
        logger.debug(
            "listing failed; retrying",
            metadata: ["sd.path": "\(path)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
        queue.asyncAfter(deadline: .now() + .nanoseconds(delay.wholeNanoseconds)) { [weak self] in
            self?.list()
        }
    }

    private func createPathThenList() {
        let client = self.client
        let path = self.path
        Task { [weak self] in
            do throws(DiscoveryError) {
                try await client.createParents(path)
                self?.state.withLock { $0.listing = false }
                self?.list()
            } catch {
                self?.failed(error)
            }
        }
    }

    /// A child's data as an instance: the address, as go-kit writes it.
    static func parse(_ bytes: [UInt8], name: String, path: String, logger: Logger) -> Instance? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        do {
            let address = try HostPort(parsing: text)
            return Instance(address: address.description, id: name)
        } catch {
            logger.warning(
                "skipping a child whose data is not an address",
                metadata: ["sd.node": "\(path)/\(name)", "sd.error": "\(error.message)"])
            return nil
        }
    }
}
