import Discovery
import Logging
import Synchronization

/// Registers one instance as an ephemeral sequential child of a ZooKeeper node, whose data is
/// the instance address (go-kit's layout).
///
/// The child's name starts with a protection prefix unique to this registrar
/// (`_c_<32 hex>-<id>`), so that a create whose answer was lost with the connection can be
/// recognised. Missing parents are created as persistent nodes. After a session expiry the
/// node is gone with its session; the registrar creates it again in the new session (removing
/// any leftover of its own first) and logs it. Deregistering deletes exactly that node.
public final class ZooKeeperRegistrar: Registrar, Sendable {
    public let path: String
    public let client: ZooKeeperClient
    private let base: Instance
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
        client: ZooKeeperClient, path: String, instance: Instance, connectTimeout: Duration = .seconds(10),
        logger: Logger = DiscoveryLogging.disabled
    ) throws(DiscoveryError) {
        let logger = logger.forBackend("zookeeper")
        let address = try HostPort(parsing: instance.address)
        var instance = instance
        instance.address = address.description
        let name = instance.id ?? "instance"
        guard !name.isEmpty, !name.contains("/"), name.utf8.count <= 200 else {
            throw DiscoveryError(.invalidArgument, "invalid id '\(name)': a ZooKeeper node name has no '/'")
        }
        var generator = SystemRandomNumberGenerator()
        let guid = (0..<2).map { _ in
            let text = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
        self.client = client
        self.path = path
        self.base = instance
        self.prefix = "_c_\(guid)-"
        self.connectTimeout = connectTimeout
        self.logger = logger
        self.name = name
    }

    private let name: String

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
        let data = Array(base.address.utf8)
        let created: String
        do {
            created = try await client.create(
                "\(path)/\(prefix)\(name)", data: data, mode: .ephemeralSequential)
        } catch  where error.isNoNode {
            // Parents are made only when missing: registering costs one round trip otherwise.
            try await client.createParents(path)
            created = try await client.create(
                "\(path)/\(prefix)\(name)", data: data, mode: .ephemeralSequential)
        } catch  where error.isConnectionLoss {
            // The create may have happened: look for our prefix before trying again.
            try await client.waitUntilConnected(timeout: connectTimeout)
            if let mine = try await client.children(path).first(where: { $0.hasPrefix(prefix) }) {
                created = "\(path)/\(mine)"
            } else {
                created = try await client.create(
                    "\(path)/\(prefix)\(name)", data: data, mode: .ephemeralSequential)
            }
        }
        logger.debug("registered", metadata: ["sd.address": "\(base.address)", "sd.node": "\(created)"])
        return Node(path: created, session: client.sessionNumber)
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
                // A leftover of ours from the old session goes first (NONODE is fine).
                let existing = (try? await client.children(path)) ?? []
                for stale in existing where stale.hasPrefix(prefix) {
                    do throws(DiscoveryError) {
                        try await client.delete("\(path)/\(stale)")
                    } catch  where error.isNoNode {}
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
