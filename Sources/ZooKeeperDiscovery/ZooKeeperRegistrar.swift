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
    private let ownsClient: Bool
    private let logger: Logger

    private struct State: Sendable {
        var node: String?
        var sessionNumber = 0
        var wanted = false
        var listener: ZooKeeperClient.ListenerToken?
    }

    private let state = Mutex(State())

    public init(
        client: ZooKeeperClient, path: String, instance: Instance, connectTimeout: Duration = .seconds(10),
        ownsClient: Bool = false, logger: Logger = Logger(label: "sdctl.zookeeper", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(DiscoveryError) {
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
        self.ownsClient = ownsClient
        self.logger = logger
        self.name = name
    }

    private let name: String

    /// The instance, with the created node's name as its id once registered.
    public var instance: Instance {
        var instance = base
        instance.id = state.withLock { $0.node }.map { String($0.split(separator: "/").last!) } ?? name
        return instance
    }

    /// The full path of the registered node, if registered.
    public var nodePath: String? { state.withLock { $0.node } }

    public func register() async throws {
        let already = state.withLock { state -> Bool in
            defer { state.wanted = true }
            return state.node != nil
        }
        if already { return }
        do throws(ZooKeeperError) {
            try await client.waitUntilConnected(timeout: connectTimeout)
            try await createNode()
        } catch {
            state.withLock { $0.wanted = false }
            throw error.discoveryError
        }
        let token = client.onSessionEvent { [weak self] event in
            guard case .connected(_, let number) = event else { return }
            self?.sessionConnected(number: number)
        }
        state.withLock { $0.listener = token }
    }

    public func deregister() async throws {
        let (node, listener) = state.withLock { state in
            defer {
                state.node = nil
                state.wanted = false
                state.listener = nil
            }
            return (state.node, state.listener)
        }
        listener?.cancel()
        defer { if ownsClient { client.close() } }
        guard let node else { return }
        do {
            try await client.delete(node)
        } catch  where error.isNoNode {
            return
        } catch {
            throw error.discoveryError
        }
    }

    private func createNode() async throws(ZooKeeperError) {
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
        let number = currentSessionNumber()
        state.withLock { state in
            state.node = created
            state.sessionNumber = number
        }
        logger.debug("zookeeper: registered \(base.address) as \(created)")
    }

    private func currentSessionNumber() -> Int {
        client.sessionNumber
    }

    /// A connect in a new session (after an expiry) means our ephemeral node is gone.
    private func sessionConnected(number: Int) {
        let restore = state.withLock { state -> Bool in
            guard state.wanted, number > state.sessionNumber else { return false }
            state.sessionNumber = number
            return true
        }
        guard restore else { return }
        Task { await self.restore() }
    }

    private func restore() async {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        while state.withLock({ $0.wanted }) {
            do throws(ZooKeeperError) {
                // A leftover of ours from the old session goes first (NONODE is fine).
                let existing = (try? await client.children(path)) ?? []
                for stale in existing where stale.hasPrefix(prefix) {
                    do {
                        try await client.delete("\(path)/\(stale)")
                    } catch  where error.isNoNode {}
                }
                try await createNode()
                logger.notice(
                    "zookeeper: session lost; registration restored in a new session",
                    metadata: DiscoveryLogEvent.registrationRestored.metadata([
                        "address": "\(base.address)", "node": "\(nodePath ?? "?")",
                    ]))
                return
            } catch {
                logger.warning(
                    "zookeeper: restoring the registration failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
            }
        }
    }
}
