import Discovery
import DiscoveryHTTP
import Logging
import Synchronization

/// Registers one instance with a Eureka server and keeps its lease.
///
/// It registers a complete InstanceInfo with status UP and renews every renewal interval; when a
/// renewal answers 404 (the server forgot the lease: a restart, an eviction after an outage) it
/// registers again, with the status it has now (OUT_OF_SERVICE once draining), and logs that
/// (`DiscoveryLogEvent/registrationRestored`). Deregistering
/// cancels the lease, after ``Configuration/drain`` with the status overridden to
/// OUT_OF_SERVICE when a drain is set, so that clients stop picking the instance before it goes.
public final class EurekaRegistrar: Registrar, Sendable {
    public struct Configuration: Sendable {
        /// How long the server keeps a lease nobody renews; renewals come every third of it.
        public var leaseDuration: Duration
        /// Mark the instance OUT_OF_SERVICE this long before cancelling it.
        public var drain: Duration?
        public var vipAddress: String?

        public init(leaseDuration: Duration = .seconds(90), drain: Duration? = nil, vipAddress: String? = nil)
        {
            self.leaseDuration = max(leaseDuration, .seconds(3))
            self.drain = drain
            self.vipAddress = vipAddress
        }
    }

    public let client: EurekaClient
    public let instance: Instance
    public let registration: EurekaRegistration
    private let drain: Duration?
    private let logger: Logger
    /// Its keeper renews the lease and restores it.
    private let lifecycle = RegistrarLifecycle<String>()
    /// What the registration is now: UP, or OUT_OF_SERVICE once a drain began. A lease the
    /// server forgot is registered again as this, so a drain is not undone by a restore.
    let currentStatus = Mutex<EurekaStatus>(.up)

    /// This registrar's mark on its lease, under the metadata key `sdctl-owner`
    /// (`RegistrationOwner`): the lease is drained and cancelled only while it still carries it.
    let ownerToken: String

    /// The instance id is the instance's, else `<host>:<app>:<port>` as Spring Cloud makes it.
    public init(
        client: EurekaClient, app: String, instance: Instance, configuration: Configuration = Configuration(),
        logger: Logger = DiscoveryLogging.disabled
    ) throws(DiscoveryError) {
        let logger = logger.forBackend("eureka")
        let address = try HostPort(parsing: instance.address)
        guard !app.isEmpty else { throw DiscoveryError(.invalidArgument, "eureka: empty app name") }
        var instance = instance
        instance.address = address.description
        if instance.id == nil { instance.id = "\(address.host):\(app.lowercased()):\(address.port)" }
        guard let id = instance.id, !id.isEmpty else {
            throw DiscoveryError(.invalidArgument, "eureka: invalid instance id ''")
        }
        self.client = client
        self.instance = instance
        ownerToken = RegistrationOwner.token()
        self.registration = EurekaRegistration(
            instanceID: id, app: app, hostName: address.host, ipAddr: address.host, port: Int(address.port),
            vipAddress: configuration.vipAddress,
            metadata: instance.metadata.merging([RegistrationOwner.key: ownerToken]) { _, owner in owner },
            renewalInterval: max(configuration.leaseDuration / 3, .seconds(1)),
            leaseDuration: configuration.leaseDuration)
        self.drain = configuration.drain
        self.logger = logger
    }

    public func register() async throws {
        try await lifecycle.register {
            try await client.register(registration)
            return registration.instanceID
        } keep: { [weak self] _ in
            await self?.renew()
        }
    }

    /// Drains (if configured) and cancels the lease once the keeper has ended. The client
    /// stays open: it is the caller's.
    public func deregister() async throws {
        try await lifecycle.deregister { _, _ in
            try await cancelLease()
        }
    }

    /// Drains when asked to, then cancels; a lease the server no longer has is gone already, and
    /// one another registrar has registered since (its `sdctl-owner` differs) is left to it.
    private func cancelLease() async throws(DiscoveryError) {
        let app = registration.app
        let id = registration.instanceID
        guard try await isStillOurs() else { return }
        do {
            if let drain {
                currentStatus.withLock { $0 = .outOfService }
                try await client.overrideStatus(app: app, instanceID: id, .outOfService)
                logger.info("draining", metadata: ["sd.id": "\(id)", "sd.for": "\(drain)"])
                try? await Task.sleep(for: drain)
            }
            try await client.cancel(app: app, instanceID: id)
        } catch {
            guard error.code == .notFound else { throw error }
        }
    }

    /// Whether the server's instance under our id is the one this registrar made: `false` when
    /// it has none (gone already) or another registrar's (logged).
    func isStillOurs() async throws(DiscoveryError) -> Bool {
        let id = registration.instanceID
        guard let current = try await client.instance(app: registration.app, instanceID: id) else {
            return false
        }
        guard current.metadata[RegistrationOwner.key] == ownerToken else {
            logger.notice(
                "the instance id is registered by another process now; left in place",
                metadata: ["sd.id": "\(id)"])
            return false
        }
        return true
    }

    /// Renews every renewal interval; registers again when the server forgot the lease.
    private func renew() async {
        let interval = registration.renewalInterval
        var backoff = Backoff(initial: .milliseconds(100), maximum: interval)
        var delay = interval
        while !Task.isCancelled {
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            do throws(DiscoveryError) {
                try await client.renew(app: registration.app, instanceID: registration.instanceID)
                backoff.reset()
                delay = interval
            } catch  where error.code == .notFound {
                guard case .restore(let attempt, _) = lifecycle.withMachine({ $0.lost() }) else { return }
                guard await restore(attempt: attempt) else { return }
                backoff.reset()
                delay = interval
            } catch {
                if Task.isCancelled { return }
                delay = backoff.next()
                logger.info(
                    "renewing the lease failed; retrying",
                    metadata: [
                        "sd.id": "\(registration.instanceID)", "sd.error": "\(error)", "sd.delay": "\(delay)",
                    ])
            }
        }
    }

    private func restore(attempt: Int) async -> Bool {
        let (client, logger, base) = (self.client, self.logger, registration)
        let restored = await lifecycle.restore(
            attempt: attempt, backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(5)),
            make: { [self] in
                var registration = base
                registration.status = currentStatus.withLock { $0 }
                try await client.register(registration)
                if registration.status != .up {
                    // Servers keep an overridden status apart from the registered one: set both.
                    try await client.overrideStatus(
                        app: registration.app, instanceID: registration.instanceID, registration.status)
                }
                return registration.instanceID
            },
            undo: { id in try? await client.cancel(app: base.app, instanceID: id) },
            failed: { error, delay in
                logger.warning(
                    "registering again failed; retrying",
                    metadata: ["sd.id": "\(base.instanceID)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
            })
        guard restored != nil else { return false }
        logger.notice(
            "the server had forgotten the lease; registered again",
            metadata: DiscoveryLogEvent.registrationRestored.metadata(["sd.id": "\(base.instanceID)"]))
        return true
    }
}
