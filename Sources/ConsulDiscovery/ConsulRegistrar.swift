import Discovery
import DiscoveryHTTP
import Logging

/// Registers one instance as a service with the local Consul agent, with a check, and keeps it
/// there.
///
/// With a TTL check (the default) the registration starts passing and the registrar passes the
/// check every third of the TTL; with an HTTP or TCP check the agent judges health itself and
/// the registrar looks the service up at the same pace. When the agent has forgotten the service
/// (a pass or a lookup answers 404: it restarted without its state), the registrar registers it
/// again and logs that (`DiscoveryLogEvent/registrationRestored`). Deregistering removes
/// exactly this service id. Concurrent calls are settled by a `RegistrarStateMachine`.
public final class ConsulRegistrar: Registrar, Sendable {
    public struct Configuration: Sendable {
        /// How the agent judges health; `ttl` checks are passed by the registrar.
        public var check: ConsulServiceRegistration.Check?
        /// The agent removes the service once its check has been critical this long (a process
        /// that vanished without deregistering); `nil` keeps it, critical, until deregistered.
        public var deregisterCriticalServiceAfter: Duration?
        /// How often the registrar makes sure an HTTP- or TCP-checked service is still known.
        public var lookupInterval: Duration

        public init(
            check: ConsulServiceRegistration.Check? = .ttl(.seconds(10)),
            deregisterCriticalServiceAfter: Duration? = .seconds(60), lookupInterval: Duration = .seconds(10)
        ) {
            self.check = check
            self.deregisterCriticalServiceAfter = deregisterCriticalServiceAfter
            self.lookupInterval = lookupInterval
        }
    }

    public let client: ConsulClient
    /// The instance, its id filled in (`<service>-<host>-<port>` unless given).
    public let instance: Instance
    /// What is sent to the agent.
    public let registration: ConsulServiceRegistration
    private let logger: Logger
    /// Its keeper passes the check or looks the service up, and restores it.
    private let lifecycle = RegistrarLifecycle<String>()

    /// Checks the instance now: its address, metadata keys (ASCII letters, digits, `-`, `_`, as
    /// the agent demands) and id.
    public init(
        client: ConsulClient, service: String, instance: Instance,
        configuration: Configuration = Configuration(),
        logger: Logger = DiscoveryLogging.disabled
    ) throws(DiscoveryError) {
        let logger = logger.forBackend("consul")
        let address = try HostPort(parsing: instance.address)
        guard !service.isEmpty else { throw DiscoveryError(.invalidArgument, "consul: empty service name") }
        for key in instance.metadata.keys {
            let valid =
                !key.isEmpty && key.utf8.count <= 128
                && key.utf8.allSatisfy { byte in
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                        || (byte >= 0x61 && byte <= 0x7A)
                        || byte == 0x2D || byte == 0x5F
                }
            guard valid else {
                throw DiscoveryError(
                    .invalidArgument,
                    "consul: invalid meta key '\(key)': Consul takes ASCII letters, digits, '-' and '_' only")
            }
        }
        var instance = instance
        instance.address = address.description
        if instance.id == nil {
            let host = String(address.host.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "-" })
            instance.id = "\(service)-\(host)-\(address.port)"
        }
        guard let id = instance.id, !id.isEmpty, !id.contains("/") else {
            throw DiscoveryError(.invalidArgument, "consul: invalid service id '\(instance.id ?? "")'")
        }
        var check = configuration.check
        if case .ttl(let ttl) = check { check = .ttl(max(ttl, .seconds(1))) }
        self.client = client
        self.instance = instance
        ownerToken = RegistrationOwner.token()
        self.registration = ConsulServiceRegistration(
            id: id, name: service, address: address.host, port: Int(address.port), tags: instance.tags,
            meta: instance.metadata.merging([RegistrationOwner.key: ownerToken]) { _, owner in owner },
            weight: instance.weight, check: check,
            // A TTL check starts passing: this process is alive and about to pass it.
            initialStatus: check.map { if case .ttl = $0 { "passing" } else { nil } } ?? nil,
            deregisterCriticalServiceAfter: check == nil ? nil : configuration.deregisterCriticalServiceAfter)
        self.logger = logger
        self.lookupInterval = configuration.lookupInterval
    }

    private let lookupInterval: Duration

    /// This registrar's mark on its registration, under the meta key `sdctl-owner`
    /// (`RegistrationOwner`): the registration is removed only while it still carries it.
    let ownerToken: String

    /// How often the keeper passes the check or looks the service up.
    var keepInterval: Duration {
        if case .ttl(let ttl) = registration.check { return ttl / 3 }
        return lookupInterval
    }

    public func register() async throws {
        try await lifecycle.register {
            try await client.register(registration)
            return registration.id
        } keep: { [weak self] _ in
            await self?.keep()
        }
    }

    /// Removes the registration; the keeper ends first (one that is restoring finds its work
    /// unwanted and undoes it). The client stays open: it is the caller's.
    public func deregister() async throws {
        try await lifecycle.deregister { _, _ in
            try await removeFromAgent()
        }
    }

    /// Deregisters the service id; one the agent does not know is gone already (the agent
    /// forgot it, or someone removed it), and one that another registrar has registered since
    /// (its `sdctl-owner` differs) is left to that registrar. The check and the delete are two
    /// requests: a registration replaced between them is still removed.
    private func removeFromAgent() async throws(DiscoveryError) {
        guard let current = try await client.agentService(id: registration.id) else { return }
        guard current.meta[RegistrationOwner.key] == ownerToken else {
            logger.notice(
                "the service id is registered by another process now; left in place",
                metadata: ["sd.id": "\(registration.id)"])
            return
        }
        do {
            try await client.deregister(serviceID: registration.id)
        } catch {
            guard error.code == .notFound else { throw error }
        }
    }

    /// Passes the TTL check (or looks the service up) every ``keepInterval``; registers again
    /// when the agent has forgotten the service.
    private func keep() async {
        var backoff = Backoff(initial: .milliseconds(100), maximum: max(keepInterval, .milliseconds(100)))
        var delay = keepInterval
        let id: Logger.MetadataValue = "\(registration.id)"
        while !Task.isCancelled {
            try? await Task.sleep(for: delay)
            if Task.isCancelled { return }
            do throws(DiscoveryError) {
                if case .ttl = registration.check {
                    try await client.passCheck(registration.checkID)
                } else if try await client.agentService(id: registration.id) == nil {
                    throw DiscoveryError(.notFound, "consul: the agent does not know '\(registration.id)'")
                }
                backoff.reset()
                delay = keepInterval
            } catch  where error.code == .notFound {
                guard case .restore(let attempt, _) = lifecycle.withMachine({ $0.lost() }) else { return }
                guard await restore(attempt: attempt) else { return }
                backoff.reset()
                delay = keepInterval
            } catch {
                if Task.isCancelled { return }
                delay = backoff.next()
                logger.info(
                    "keeping the registration failed; retrying",
                    metadata: ["sd.id": id, "sd.error": "\(error)", "sd.delay": "\(delay)"])
            }
        }
    }

    /// Registers again until that works or the registration is not wanted any more.
    private func restore(attempt: Int) async -> Bool {
        let (client, registration, logger) = (self.client, self.registration, self.logger)
        let restored = await lifecycle.restore(
            attempt: attempt, backoff: Backoff(initial: .milliseconds(100), maximum: .seconds(5)),
            make: {
                try await client.register(registration)
                return registration.id
            },
            undo: { id in try? await client.deregister(serviceID: id) },
            failed: { error, delay in
                logger.warning(
                    "registering again failed; retrying",
                    metadata: ["sd.id": "\(registration.id)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
            })
        guard restored != nil else { return false }
        logger.notice(
            "the agent had forgotten the service; registered again",
            metadata: DiscoveryLogEvent.registrationRestored.metadata(["sd.id": "\(registration.id)"]))
        return true
    }
}
