import Discovery
import Logging
import Synchronization

/// Registers one instance as `prefix + id` = address, attached to a lease kept alive on one
/// keepalive stream every TTL/3.
///
/// When the lease is lost (a keepalive answers TTL 0, or etcd was away longer than the TTL), a
/// new lease is granted and the key put again, and this is logged. Deregistering deletes the
/// key and revokes the lease.
public final class EtcdRegistrar: Registrar, Sendable {
    public let client: EtcdClient
    public let prefix: String
    public let instance: Instance
    public let ttl: Duration
    private let ownsClient: Bool
    private let logger: Logger

    private struct State: Sendable {
        var lease: Int64?
        var keeper: Task<Void, Never>?
    }

    private let state = Mutex(State())

    public init(
        client: EtcdClient, prefix: String, instance: Instance, ttl: Duration = .seconds(10),
        ownsClient: Bool = false,
        logger: Logger = Logger(label: "sdctl.etcd", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(DiscoveryError) {
        let address = try HostPort(parsing: instance.address)
        var instance = instance
        instance.address = address.description
        if instance.id == nil {
            var generator = SystemRandomNumberGenerator()
            instance.id =
                "\(address.host)-\(address.port)-\(String(generator.next() & 0xFFFF_FFFF, radix: 16))"
        }
        guard let id = instance.id, !id.isEmpty else {
            throw DiscoveryError(.invalidArgument, "invalid id: empty")
        }
        self.client = client
        self.prefix = prefix
        self.instance = instance
        self.ttl = max(ttl, .seconds(2))
        self.ownsClient = ownsClient
        self.logger = logger
    }

    /// The registration key.
    public var key: String { prefix + instance.id! }

    /// The current lease, while registered.
    public var lease: Int64? { state.withLock { $0.lease } }

    public func register() async throws {
        if state.withLock({ $0.lease != nil }) { return }
        let lease = try await putWithNewLease()
        let keeper = Task { [weak self] in
            guard let self else { return }
            await self.keepAlive(from: lease)
        }
        state.withLock { state in
            state.lease = lease
            state.keeper = keeper
        }
    }

    public func deregister() async throws {
        let (lease, keeper) = state.withLock { state in
            defer {
                state.lease = nil
                state.keeper = nil
            }
            return (state.lease, state.keeper)
        }
        defer { if ownsClient { client.close() } }
        guard let lease else {
            keeper?.cancel()
            return
        }
        // The key first, so that watchers see it go as soon as possible; then the keepalive
        // (ending its stream costs time), and only then the lease, as the keeper would answer a
        // revoked lease by registering again.
        do {
            try await client.delete(Array(key.utf8))
        } catch {
            keeper?.cancel()
            throw error
        }
        keeper?.cancel()
        // A typed `do` with a guard: `catch where` on a typed error here crashed the 6.3 compiler.
        do throws(DiscoveryError) {
            try await client.revokeLease(lease)
        } catch {
            guard error.code == .notFound else { throw error }
        }
    }

    private func putWithNewLease() async throws(DiscoveryError) -> Int64 {
        let (lease, _) = try await client.grantLease(ttl: ttl)
        try await client.put(Array(key.utf8), Array(instance.address.utf8), lease: lease)
        return lease
    }

    /// Keeps the lease alive; when it is lost, registers again with a new one.
    private func keepAlive(from first: Int64) async {
        var lease = first
        // Capped below the TTL, so that a retry after a run of blips still comes before the
        // lease runs out; reset whenever a keepalive got through.
        var backoff = Backoff(initial: .milliseconds(100), maximum: min(.seconds(5), ttl / 3))
        let renewed = Atomic<Bool>(false)
        while !Task.isCancelled {
            if renewed.exchange(false, ordering: .relaxed) { backoff.reset() }
            do throws(DiscoveryError) {
                let logger = self.logger
                try await client.keepAlive(lease: lease, every: ttl / 3) { [lease] in
                    renewed.store(true, ordering: .relaxed)
                    logger.trace("etcd: lease renewed", metadata: ["lease": "\(lease)"])
                }
                return  // cancelled
            } catch  where error.code == .notFound {
                do throws(DiscoveryError) {
                    lease = try await putWithNewLease()
                    state.withLock { $0.lease = lease }
                    logger.notice(
                        "etcd: lease lost; registration restored under a new lease",
                        metadata: DiscoveryLogEvent.registrationRestored.metadata([
                            "key": "\(key)", "lease": "\(lease)",
                        ]))
                    backoff.reset()
                } catch {
                    let delay = backoff.next()
                    logger.warning(
                        "etcd: restoring the registration failed; retrying",
                        metadata: ["key": "\(key)", "error": "\(error)", "delay": "\(delay)"])
                    try? await Task.sleep(for: delay)
                }
            } catch {
                if Task.isCancelled { return }
                if renewed.exchange(false, ordering: .relaxed) { backoff.reset() }
                let delay = backoff.next()
                logger.info(
                    "etcd: keepalive interrupted; retrying",
                    metadata: ["key": "\(key)", "error": "\(error)", "delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }
}

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum EtcdMaintenance {
    /// Deletes every key under `prefix` whose name after the prefix is `idOrAddress` or whose
    /// value is that address; returns the ids (names after the prefix) deleted.
    public static func remove(idOrAddress: String, prefix: String, client: EtcdClient)
        async throws(DiscoveryError)
        -> [String]
    {
        let (kvs, _) = try await client.range(prefix: Array(prefix.utf8))
        var removed: [String] = []
        for kv in kvs {
            let id = String(String(decoding: kv.key, as: UTF8.self).dropFirst(prefix.count))
            let value = String(decoding: kv.value, as: UTF8.self).trimmingWhitespace()
            guard id == idOrAddress || value == idOrAddress else { continue }
            if try await client.delete(kv.key) > 0 { removed.append(id) }
        }
        return removed.sorted()
    }
}
