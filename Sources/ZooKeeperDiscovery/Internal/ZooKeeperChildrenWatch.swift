import CZooKeeper
import Discovery
import Dispatch
import Logging
import Synchronization

/// The watch behind a ``ZooKeeperInstancer``, driven by the C client's callbacks; it publishes
/// into the instancer's cache. Its decisions are ``ZooKeeperChildrenWatchStateMachine``'s; this
/// type performs them (requests, timers, publications) outside its lock. Its callbacks hold it
/// weakly; the instancer's core holds it until it stops.
final class ZooKeeperChildrenWatch: Sendable {
    let path: String
    let client: ZooKeeperClient
    private let cache: InstanceCache
    private let connectTimeout: Duration
    private let logger: Logger
    /// The layout children must be in; `nil` takes each in whichever it is.
    private let layout: ZooKeeperLayout?
    private let port: CuratorServiceInstance.Port
    private let skipped = SkippedEntryReport(entries: "children")
    private let queue = DispatchQueue(label: "sdctl.zookeeper.instancer")
    private let state = Mutex(State())

    private struct State: Sendable {
        var machine = ZooKeeperChildrenWatchStateMachine()
        var listener: ZooKeeperClient.ListenerToken?
    }

    init(
        client: ZooKeeperClient, path: String, layout: ZooKeeperLayout?, port: CuratorServiceInstance.Port,
        connectTimeout: Duration, cache: InstanceCache, logger: Logger
    ) {
        self.layout = layout
        self.port = port
        self.client = client
        self.path = path
        self.cache = cache
        self.connectTimeout = connectTimeout
        self.logger = logger
    }

    /// Listens to the session and lists the children once connected.
    func begin() {
        let token = client.onSessionEvent { [weak self] event in self?.sessionChanged(event) }
        let connectedSession = client.isConnected ? client.sessionNumber : nil
        let action = state.withLock { state in
            state.listener = token
            return state.machine.begin(connectedSession: connectedSession)
        }
        switch action {
        case .list(let arming): list(armingWatch: arming)
        case .checkConnection: scheduleConnectionCheck()
        case .none: break
        }
    }

    /// Ends the watch: no listing or connection check starts after this.
    func stop() {
        let listener = state.withLock { state -> ZooKeeperClient.ListenerToken? in
            _ = state.machine.stop()
            defer { state.listener = nil }
            return state.listener
        }
        listener?.cancel()
    }

    // MARK: - Inputs (on the C client's completion thread or `queue`)

    private func sessionChanged(_ event: ZooKeeperSessionEvent) {
        switch event {
        case .connected(_, let number):
            switch state.withLock({ $0.machine.connected(session: number) }) {
            case .list(let arming): list(armingWatch: arming)
            case .publish(let set): cache.update(set)
            case .none: break
            }
        case .authenticationFailed:
            cache.fail(DiscoveryError(.permissionDenied, "zookeeper: authentication failed"))
        case .expired:
            cache.fail(DiscoveryError(.unavailable, "zookeeper: session expired; opening a new one"))
        case .disconnected:
            // The library reconnects by itself, often within milliseconds to another member;
            // an outage that lasts `connectTimeout` is an error event.
            if state.withLock({ $0.machine.disconnected() }) { scheduleConnectionCheck() }
        case .closed:
            break
        }
    }

    /// Checks the connection after `connectTimeout`, and again every `connectTimeout` while the
    /// client stays unconnected, publishing a failure each time (identical events are not
    /// re-sent).
    private func scheduleConnectionCheck() {
        queue.asyncAfter(deadline: .now() + .nanoseconds(connectTimeout.wholeNanoseconds)) { [weak self] in
            self?.checkConnection()
        }
    }

    private func checkConnection() {
        let connected = client.isConnected
        guard
            case .reportAndCheckAgain(let everConnected) = state.withLock({
                $0.machine.connectionChecked(connected: connected)
            })
        else { return }
        let servers = client.configuration.connectString
        cache.fail(
            DiscoveryError(
                .unavailable,
                everConnected
                    ? "zookeeper: lost the connection to ZooKeeper at \(servers); reconnecting"
                    : "zookeeper: cannot reach ZooKeeper at \(servers) within \(connectTimeout)"))
        let connectedNow = client.isConnected
        if let set = state.withLock({ $0.machine.outageReported(connectedNow: connectedNow) }) {
            cache.update(set)
        }
        scheduleConnectionCheck()
    }

    private func perform(_ action: ZooKeeperChildrenWatchStateMachine.ListAction) {
        if case .list(let arming) = action { list(armingWatch: arming) }
    }

    private func list(armingWatch arming: Bool) {
        var onChange: (@Sendable () -> Void)?
        if arming {
            onChange = { [weak self] in
                guard let self else { return }
                perform(state.withLock { $0.machine.watchFired() })
            }
        }
        client.requestChildren(
            path, onChange: onChange,
            completion: { [weak self] rc, names in self?.listed(rc, names, armed: arming) })
    }

    private func listed(_ rc: Int32, _ names: [String], armed: Bool) {
        guard rc == ZOK.rawValue else {
            if rc == ZNONODE.rawValue {
                createPathThenList()
            } else {
                failed(ZooKeeperError(code: rc, path: path).discoveryError)
            }
            return
        }
        let fresh = state.withLock { $0.machine.listed(names: names, armedWatch: armed) }
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
                parsed.append((name, parse(bytes, name: name)))
            case .failure(let error) where error.isNoNode:
                continue  // gone since the listing; the watch brings the next one
            case .failure(let error):
                failed(error.discoveryError)
                return
            }
        }
        cache.update(state.withLock { $0.machine.read(names: names, fresh: fresh, parsed: parsed) })
        perform(state.withLock { $0.machine.listingFinished() })
    }

    private func failed(_ error: DiscoveryError) {
        cache.fail(error)
        let delay = state.withLock { $0.machine.listingFailed() }
        logger.debug(
            "listing failed; retrying",
            metadata: ["sd.path": "\(path)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
        queue.asyncAfter(deadline: .now() + .nanoseconds(delay.wholeNanoseconds)) { [weak self] in
            guard let self else { return }
            perform(state.withLock { $0.machine.requestListing() })
        }
    }

    private func createPathThenList() {
        let client = self.client
        let path = self.path
        Task { [weak self] in
            do throws(DiscoveryError) {
                try await client.createParents(path)
                guard let self else { return }
                perform(state.withLock { $0.machine.pathCreated() })
            } catch {
                self?.failed(error)
            }
        }
    }

    /// A child's data as an instance, in the layout its data is in (or must be in); one that
    /// fits no layout is reported and skipped.
    func parse(_ bytes: [UInt8], name: String) -> Instance? {
        let found = ZooKeeperLayout.of(data: bytes)
        do throws(DiscoveryError) {
            if let layout, layout != found {
                throw DiscoveryError(
                    .invalidResponse,
                    "its data is in the \(found.rawValue) layout, not \(layout.rawValue) as asked")
            }
            switch found {
            case .gokit:
                let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
                return Instance(address: try HostPort(parsing: text).description, id: name)
            case .curator:
                return try CuratorServiceInstance(json: bytes).instance(port: port)
            }
        } catch {
            skipped.skipped(["sd.node": "\(path)/\(name)", "sd.error": "\(error.message)"], logger: logger)
            return nil
        }
    }
}
