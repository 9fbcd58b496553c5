import Discovery
import Logging
import Synchronization

/// Registers one instance under a prefix, attached to a lease kept alive on one keepalive
/// stream every TTL/3: in go-kit's layout `prefix + id` = address, in etcd's gRPC naming
/// (``EtcdLayout/grpc``) `prefix + id` = the endpoints manager's JSON with the metadata (zone and
/// weight as `zone` and `weight` entries), the id being the address unless one is given, as
/// `endpoints.Manager.AddEndpoint(ctx, target+"/"+addr, ..., clientv3.WithLease(...))` writes it.
/// Without a layout, the one found under the prefix at the first registration (go-kit's on an
/// empty prefix).
///
/// The key is claimed in a transaction: put only if absent or already under this registrar's
/// lease, so a live registration of someone else with the same id is never overwritten (that is
/// an `DiscoveryError/Code/alreadyExists` error), and deleting it removes it only while it is
/// still under that lease. When the lease is lost (a keepalive answers TTL 0, or etcd was away
/// longer than the TTL), a new lease is granted and the key claimed again, and this is logged.
/// Deregistering deletes the key and revokes the lease. Concurrent calls are settled by a
/// `RegistrarStateMachine`.
public final class EtcdRegistrar: Registrar, Sendable {
    public let client: EtcdClient
    public let prefix: String
    private let base: Instance
    /// The id of an instance registered without one in go-kit's layout.
    private let generatedID: String
    private let requestedLayout: EtcdLayout?
    private let detectedLayout = Mutex<EtcdLayout?>(nil)
    public let ttl: Duration
    private let logger: Logger
    /// Its keeper keeps the lease alive and restores the registration.
    private let lifecycle = RegistrarLifecycle<Int64>()

    public init(
        client: EtcdClient, prefix: String, instance: Instance, layout: EtcdLayout? = .gokit,
        ttl: Duration = .seconds(10), logger: Logger = DiscoveryLogging.disabled
    ) throws(DiscoveryError) {
        let logger = logger.forBackend("etcd")
        let address = try HostPort(parsing: instance.address)
        var instance = instance
        instance.address = address.description
        var generator = SystemRandomNumberGenerator()
        generatedID = "\(address.host)-\(address.port)-\(String(generator.next() & 0xFFFF_FFFF, radix: 16))"
        if let id = instance.id, id.isEmpty {
            throw DiscoveryError(.invalidArgument, "invalid id: empty")
        }
        self.client = client
        self.prefix = prefix
        self.base = instance
        self.requestedLayout = layout
        self.ttl = max(ttl, .seconds(2))
        self.logger = logger
    }

    /// The layout the registration is written in: the one asked for, else the one found at the
    /// first registration (go-kit's until then).
    public var layout: EtcdLayout { requestedLayout ?? detectedLayout.withLock { $0 } ?? .gokit }

    /// The layout asked for or found by a registration; nil while neither.
    public var knownLayout: EtcdLayout? { requestedLayout ?? detectedLayout.withLock { $0 } }

    /// The instance, with its id: the one given, else the address in the gRPC naming layout,
    /// else one made from the address.
    public var instance: Instance {
        var instance = base
        if instance.id == nil { instance.id = layout == .grpc ? base.address : generatedID }
        return instance
    }

    /// The registration key.
    public var key: String { prefix + instance.id! }

    /// The key's value in ``layout``.
    private var value: [UInt8] {
        switch layout {
        case .gokit:
            return Array(base.address.utf8)
        case .grpc:
            return GRPCNamingUpdate(address: base.address, metadata: base.metadataWithPlacement).json
        }
    }

    /// The layout of the keys already under the prefix: gRPC naming's if any value is its JSON,
    /// else go-kit's (an empty prefix too).
    private func detectLayout() async throws(DiscoveryError) {
        guard requestedLayout == nil, detectedLayout.withLock({ $0 }) == nil else { return }
        let (kvs, _) = try await client.range(prefix: Array(prefix.utf8))
        let found: EtcdLayout = kvs.contains { EtcdLayout.of(value: $0.value) == .grpc } ? .grpc : .gokit
        detectedLayout.withLock { $0 = $0 ?? found }
        logger.debug(
            "layout detected", metadata: ["sd.prefix": "\(prefix)", "sd.layout": "\(found.rawValue)"])
    }

    /// The current lease, while registered.
    public var lease: Int64? { lifecycle.read { $0.registration } }

    public func register() async throws {
        try await lifecycle.register {
            try await detectLayout()
            return try await claimWithNewLease()
        } keep: { [weak self] lease in
            await self?.keepAlive(from: lease)
        }
    }

    /// Deletes the key and revokes the lease. The client stays open: it is the caller's.
    public func deregister() async throws {
        let key = Array(self.key.utf8)
        try await lifecycle.deregister { lease, _ in
            // The key first, so that watchers see it go as soon as possible, and only while it
            // is under this lease: a keeper restoring the registration meanwhile (under a new
            // lease) is left alone here, finds its work unwanted when it is stopped next, and
            // undoes it. Stopping the keeper first put its end on every deregistration's path
            // (docs/etcd.md).
            if let lease { _ = try await client.delete(key, ifLease: lease) }
        } _: { lease, _ in
            guard let lease else { return }
            do throws(DiscoveryError) {
                try await client.revokeLease(lease)
            } catch {
                guard error.code == .notFound else { throw error }
            }
        }
    }

    /// Grants a lease and claims the key under it; a key held by someone else gives the lease
    /// back and fails with ``DiscoveryError/Code/alreadyExists``.
    private func claimWithNewLease() async throws(DiscoveryError) -> Int64 {
        let (lease, _) = try await client.grantLease(ttl: ttl)
        let claim: EtcdClient.Claim
        do {
            claim = try await client.claim(Array(key.utf8), value, lease: lease)
        } catch {
            try? await client.revokeLease(lease)
            throw error
        }
        guard case .heldByOther(let holder) = claim else { return lease }
        try? await client.revokeLease(lease)
        throw DiscoveryError(
            .alreadyExists,
            "id '\(instance.id!)' is already registered under \(prefix) by another registration"
                + (holder != 0 ? " (lease \(String(holder, radix: 16)))" : ""))
    }

    /// Keeps the lease alive; when it is lost, registers again with a new one.
    private func keepAlive(from first: Int64) async {
        var lease = first
        // Capped below the TTL, so that a retry after a run of blips still comes before the
        // lease runs out; reset whenever a keepalive got through.
        var backoff = Backoff(initial: .milliseconds(100), maximum: min(.seconds(5), ttl / 3))
        let renewed = Atomic<Bool>(false)
        let logger = self.logger
        while !Task.isCancelled {
            if renewed.exchange(false, ordering: .relaxed) { backoff.reset() }
            do throws(DiscoveryError) {
                try await client.keepAlive(lease: lease, every: ttl / 3) { [lease] in
                    renewed.store(true, ordering: .relaxed)
                    logger.trace("lease renewed", metadata: ["sd.lease": "\(lease)"])
                }
                return  // cancelled
            } catch  where error.code == .notFound {
                guard case .restore(let attempt, _) = lifecycle.withMachine({ $0.lost() }) else { return }
                guard let restored = await restore(attempt: attempt) else { return }
                lease = restored
                backoff.reset()
            } catch {
                if Task.isCancelled { return }
                if renewed.exchange(false, ordering: .relaxed) { backoff.reset() }
                let delay = backoff.next()
                logger.info(
                    "keepalive interrupted; retrying",
                    metadata: ["sd.key": "\(key)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Claims the key under a new lease until that works or the registration is not wanted any
    /// more; returns the new lease, or `nil` when it gave up.
    private func restore(attempt: Int) async -> Int64? {
        let (client, logger, key) = (self.client, self.logger, self.key)
        let restored = await lifecycle.restore(
            attempt: attempt,
            backoff: Backoff(initial: .milliseconds(100), maximum: min(.seconds(5), ttl / 3)),
            make: { [self] in try await claimWithNewLease() },
            undo: { lease in
                _ = try? await client.delete(Array(key.utf8), ifLease: lease)
                try? await client.revokeLease(lease)
            },
            failed: { error, delay in
                logger.warning(
                    "restoring the registration failed; retrying",
                    metadata: ["sd.key": "\(key)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
            })
        guard let restored else { return nil }
        logger.notice(
            "lease lost; registration restored under a new lease",
            metadata: DiscoveryLogEvent.registrationRestored.metadata([
                "sd.key": "\(key)", "sd.lease": "\(restored)",
            ]))
        return restored
    }
}
