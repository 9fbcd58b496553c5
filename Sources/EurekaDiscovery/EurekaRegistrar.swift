import Discovery
import DiscoveryHTTP
import Logging
import Synchronization

/// Registers one instance with a Eureka server and keeps its lease.
///
/// It registers a complete InstanceInfo with status UP and renews every renewal interval; when a
/// renewal answers 404 (the server forgot the lease: a restart, an eviction after an outage) it
/// registers again, with the status it has now (OUT_OF_SERVICE once draining), and logs that
/// (``DiscoveryLogEvent/registrationRestored``). Deregistering
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
    private let ownsClient: Bool
    private let logger: Logger
    private let lifecycle = RegistrarLifecycle<String>()
    private let keeper = Mutex<Task<Void, Never>?>(nil)
    /// What the registration is now: UP, or OUT_OF_SERVICE once a drain began. A lease the
    /// server forgot is registered again as this, so a drain is not undone by a restore.
    let currentStatus = Mutex<EurekaStatus>(.up)

    /// This registrar's mark on its lease, under the metadata key `sdctl-owner`
    /// (`RegistrationOwner`): the lease is drained and cancelled only while it still carries it.
    let ownerToken: String

    /// The instance id is the instance's, else `<host>:<app>:<port>` as Spring Cloud makes it.
    public init(
        client: EurekaClient, app: String, instance: Instance, configuration: Configuration = Configuration(),
        ownsClient: Bool = false, logger: Logger = EurekaClient.noOpLogger
    ) throws(DiscoveryError) {
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
        self.ownsClient = ownsClient
        self.logger = logger
    }

    public func register() async throws {
        try await lifecycle.register {
            try await client.register(registration)
            let task = Task { [weak self] in
                guard let self else { return }
                await self.renew()
            }
            keeper.withLock { $0 = task }
            return registration.instanceID
        }
    }

    public func deregister() async throws {
        defer { if ownsClient { client.close() } }
        try await lifecycle.deregister { _, _ in
            let task = keeper.withLock { task in
                defer { task = nil }
                return task
            }
            task?.cancel()
            await task?.value
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
                logger.info("eureka: draining", metadata: ["id": "\(id)", "for": "\(drain)"])
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
                "eureka: the instance id is registered by another process now; left in place",
                metadata: ["id": "\(id)"])
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
                    "eureka: renewing the lease failed; retrying",
                    metadata: ["id": "\(registration.instanceID)", "error": "\(error)", "delay": "\(delay)"])
            }
        }
    }

    private func restore(attempt: Int) async -> Bool {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        while lifecycle.read({ $0.isRestoring(attempt: attempt) }) && !Task.isCancelled {
            do throws(DiscoveryError) {
                var registration = self.registration
                registration.status = currentStatus.withLock { $0 }
                try await client.register(registration)
                if registration.status != .up {
                    // Servers keep an overridden status apart from the registered one: set both.
                    try await client.overrideStatus(
                        app: registration.app, instanceID: registration.instanceID, registration.status)
                }
                if lifecycle.withMachine({ $0.restored(attempt: attempt, registration.instanceID) }) == .undo
                {
                    let client = self.client
                    let (app, id) = (registration.app, registration.instanceID)
                    await Task { try? await client.cancel(app: app, instanceID: id) }.value
                    return false
                }
                logger.notice(
                    "eureka: the server had forgotten the lease; registered again",
                    metadata: DiscoveryLogEvent.registrationRestored.metadata([
                        "id": "\(registration.instanceID)"
                    ]))
                return true
            } catch {
                let delay = backoff.next()
                logger.warning(
                    "eureka: registering again failed; retrying",
                    metadata: ["id": "\(registration.instanceID)", "error": "\(error)", "delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
        return false
    }
}

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum EurekaMaintenance {
    /// Cancels every instance of `app` whose instance id is `idOrAddress` or whose `ipAddr:port`
    /// (either port) is that; returns the ids cancelled.
    public static func remove(idOrAddress: String, app: String, client: EurekaClient)
        async throws(DiscoveryError) -> [String]
    {
        var removed: [String] = []
        for record in try await client.instances(of: app) {
            let addresses = [record.instance(secure: false), record.instance(secure: true)].compactMap {
                $0?.address
            }
            guard record.instanceID == idOrAddress || addresses.contains(idOrAddress) else { continue }
            do {
                try await client.cancel(app: app, instanceID: record.instanceID)
                removed.append(record.instanceID)
            } catch {
                guard error.code == .notFound else { throw error }
            }
        }
        return removed
    }
}
