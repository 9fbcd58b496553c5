import Discovery
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Registers one instance as a child of a ZooKeeper node, in go-kit's layout or Apache
/// Curator's (``ZooKeeperLayout``).
///
/// In go-kit's layout the child is ephemeral and sequential, its data the instance address, and
/// its name starts with a protection prefix unique to this registrar (`_c_<32 hex>-<id>`), so
/// that a create whose answer was lost with the connection can be recognised. In Curator's, the
/// child is ephemeral and named by the instance's id (a random UUID without one), its data a
/// `ServiceInstance` JSON with a Spring Cloud Zookeeper payload holding the metadata (zone and
/// weight as `zone` and `weight` entries), exactly as Curator's `registerService` writes it; an
/// existing child of that name is deleted and created again, as Curator does, so that watchers
/// see the change. Missing parents are created as persistent nodes. After a session expiry the
/// node is gone with its session; the registrar creates it again in the new session (removing
/// any leftover of its own first) and logs it. Deregistering deletes exactly that node.
public final class ZooKeeperRegistrar: Registrar, Sendable {
    public let path: String
    public let client: ZooKeeperClient
    /// The layout asked for; `nil`: the one found at the first registration.
    private let requestedLayout: ZooKeeperLayout?
    private let detectedLayout = Mutex<ZooKeeperLayout?>(nil)
    private let base: Instance
    /// `base.address`, parsed: Curator's JSON has the host and the port apart.
    private let hostPort: HostPort
    private let prefix: String
    private let connectTimeout: Duration
    private let logger: Logger

    /// A created node and the session it belongs to.
    private struct Node: Sendable {
        var path: String
        var session: Int
    }

    /// Its keeper is the restorer, started by a new session.
    private let lifecycle = RegistrarLifecycle<Node>()
    /// The session listener, installed before the first create, so that no session change
    /// between the create and the listener goes unheard.
    private let listener = Mutex<ZooKeeperClient.ListenerToken?>(nil)

    public init(
        client: ZooKeeperClient, path: String, instance: Instance, layout: ZooKeeperLayout? = .gokit,
        connectTimeout: Duration = .seconds(10), logger: Logger = DiscoveryLogging.disabled
    ) throws(DiscoveryError) {
        let logger = logger.forBackend("zookeeper")
        let address = try HostPort(parsing: instance.address)
        var instance = instance
        instance.address = address.description
        var generator = SystemRandomNumberGenerator()
        if let name = instance.id {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != "..", name.utf8.count <= 200 else {
                throw DiscoveryError(
                    .invalidArgument, "invalid id '\(name)': a ZooKeeper node name has no '/'")
            }
        }
        self.requestedLayout = layout
        self.generatedID = Self.uuid(&generator)
        let guid = (0..<2).map { _ in
            let text = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
        self.client = client
        self.path = path
        self.base = instance
        self.hostPort = address
        self.prefix = "_c_\(guid)-"
        self.connectTimeout = connectTimeout
        self.logger = logger
    }

    /// The id of an instance registered without one in Curator's layout, as Curator makes it.
    private let generatedID: String

    /// The layout registrations are written in: the one asked for, else the one found at the
    /// first registration (go-kit's until then).
    public var layout: ZooKeeperLayout { requestedLayout ?? detectedLayout.withLock { $0 } ?? .gokit }

    /// The child's name in `layout`, before go-kit's prefix and sequence.
    private var name: String { base.id ?? (layout == .curator ? generatedID : "instance") }

    /// The layout of the children already at `path`: Curator's if any of the first few is in
    /// it, else go-kit's (an empty or missing path too).
    private func detectLayout() async throws(DiscoveryError) -> ZooKeeperLayout {
        if let layout = requestedLayout ?? detectedLayout.withLock({ $0 }) { return layout }
        let names: [String]
        do {
            names = try await client.children(path)
        } catch  where error.isNoNode {
            names = []
        }
        let contents = await client.data(paths: names.prefix(8).map { "\(path)/\($0)" })
        let found =
            contents.contains { (try? $0.get()).map { ZooKeeperLayout.of(data: $0) } == .curator }
            ? .curator : ZooKeeperLayout.gokit
        detectedLayout.withLock { $0 = found }
        logger.debug("layout detected", metadata: ["sd.path": "\(path)", "sd.layout": "\(found.rawValue)"])
        return found
    }

    /// A random (version 4) UUID, as Curator gives an instance without an id.
    private static func uuid(_ generator: inout SystemRandomNumberGenerator) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }.joined(separator: "-")
    }

    /// The child's data: the address, or Curator's JSON.
    private func data() -> [UInt8] {
        switch layout {
        case .gokit:
            return Array(base.address.utf8)
        case .curator:
            return CuratorServiceInstance(
                name: String(path.split(separator: "/").last ?? ""), id: name, address: hostPort.host,
                port: Int(hostPort.port), metadata: base.metadataWithPlacement,
                registrationTimeUTC: Self.nowMilliseconds()
            ).json
        }
    }

    private static func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// The instance, with the created node's name as its id once registered.
    public var instance: Instance {
        var instance = base
        instance.id = nodePath.map { String($0.split(separator: "/").last!) } ?? name
        return instance
    }

    /// The full path of the registered node, if registered.
    public var nodePath: String? { lifecycle.read { $0.registration?.path } }

    public func register() async throws {
        try await lifecycle.register {
            listenForSessions()
            try await client.waitUntilConnected(timeout: connectTimeout)
            _ = try await detectLayout()
            return try await createNode()
        }
    }

    /// Deletes the node. The client stays open: it is the caller's.
    public func deregister() async throws {
        try await lifecycle.deregister { _, _ in
            listener.withLock { token in
                token?.cancel()
                token = nil
            }
            // The restorer is stopped next: one finishing now finds its node unwanted and
            // deletes it itself, so nothing of ours is left when this returns.
        } _: { node, restoring in
            // A node of a lost session went with it (and a restorer removed any of its own).
            guard let node, !restoring else { return }
            do throws(DiscoveryError) {
                try await client.waitUntilConnected(timeout: connectTimeout)
                // A new session since the create: the node went with the old one.
                guard client.sessionNumber == node.session else { return }
                try await client.delete(node.path)
            } catch  where error.isNoNode {
                return
            }
        }
    }

    private func listenForSessions() {
        listener.withLock { token in
            guard token == nil else { return }
            token = client.onSessionEvent { [weak self] event in
                guard case .connected(_, let number) = event else { return }
                self?.sessionConnected(number: number)
            }
        }
    }

    private func createNode() async throws(DiscoveryError) -> Node {
        let created: String
        switch layout {
        case .gokit: created = try await createSequentialNode()
        case .curator: created = try await createNamedNode()
        }
        logger.debug("registered", metadata: ["sd.address": "\(base.address)", "sd.node": "\(created)"])
        return Node(path: created, session: client.sessionNumber)
    }

    /// go-kit's: an ephemeral sequential child behind our protection prefix.
    private func createSequentialNode() async throws(DiscoveryError) -> String {
        let data = data()
        do {
            return try await client.create("\(path)/\(prefix)\(name)", data: data, mode: .ephemeralSequential)
        } catch  where error.isNoNode {
            // Parents are made only when missing: registering costs one round trip otherwise.
            try await client.createParents(path)
            return try await client.create("\(path)/\(prefix)\(name)", data: data, mode: .ephemeralSequential)
        } catch  where error.isConnectionLoss {
            // The create may have happened: look for our prefix before trying again.
            try await client.waitUntilConnected(timeout: connectTimeout)
            if let mine = try await client.children(path).first(where: { $0.hasPrefix(prefix) }) {
                return "\(path)/\(mine)"
            }
            return try await client.create("\(path)/\(prefix)\(name)", data: data, mode: .ephemeralSequential)
        }
    }

    /// Curator's: an ephemeral child named by the id. One that exists (another registration of
    /// the id, or ours whose create answer was lost) is deleted and created again, as Curator's
    /// `registerService` does.
    private func createNamedNode() async throws(DiscoveryError) -> String {
        let node = "\(path)/\(name)"
        let data = data()
        for _ in 0..<5 {
            do {
                return try await client.create(node, data: data, mode: .ephemeral)
            } catch  where error.isNoNode {
                // Missing parents, or gone since (Curator makes them container nodes, which the
                // server deletes once empty).
                try await client.createParents(path)
            } catch  where error.zooKeeperError?.isNodeExists == true {
                do {
                    try await client.delete(node)
                } catch  where error.isNoNode {}
            } catch  where error.isConnectionLoss {
                try await client.waitUntilConnected(timeout: connectTimeout)
            }
        }
        throw DiscoveryError(.unavailable, "zookeeper: \(node) kept coming back while it was created again")
    }

    /// A connect in a new session (after an expiry) means our ephemeral node is gone.
    private func sessionConnected(number: Int) {
        let action = lifecycle.withMachine { machine -> RegistrarStateMachine<Node>.LossAction in
            guard let node = machine.registration, number > node.session else { return .none }
            return machine.lost(keeping: node)
        }
        guard case .restore(let attempt, _) = action else { return }
        lifecycle.startKeeper { [weak self] in await self?.restore(attempt: attempt) }
    }

    private func restore(attempt: Int) async {
        let (client, path, prefix, logger, address) = (
            self.client, self.path, self.prefix, self.logger, base.address
        )
        let restored = await lifecycle.restore(
            attempt: attempt, backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(5)),
            make: { [self] () async throws(DiscoveryError) -> Node in
                // A leftover of ours from the old session goes first (NONODE is fine); in
                // Curator's layout the create replaces it.
                if layout == .gokit {
                    let existing = (try? await client.children(path)) ?? []
                    for stale in existing where stale.hasPrefix(prefix) {
                        do throws(DiscoveryError) {
                            try await client.delete("\(path)/\(stale)")
                        } catch  where error.isNoNode {}
                    }
                }
                return try await createNode()
            },
            undo: { node in try? await client.delete(node.path) },
            failed: { error, delay in
                logger.warning(
                    "restoring the registration failed; retrying",
                    metadata: ["sd.error": "\(error)", "sd.delay": "\(delay)"])
            })
        guard let restored else { return }
        logger.notice(
            "session lost; registration restored in a new session",
            metadata: DiscoveryLogEvent.registrationRestored.metadata([
                "sd.address": "\(address)", "sd.node": "\(restored.path)",
            ]))
    }
}
