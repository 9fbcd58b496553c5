import Discovery
import Logging

/// Browses one DNS-SD service type over unicast DNS (RFC 6763) and publishes its instances.
///
/// The service type's PTR records (`_http._tcp.example.com`) name the instances; each
/// instance's SRV record gives its host, port, priority and weight, its TXT record the
/// metadata (``DNSSDTXTRecord``'s rules). Records the server sent in the additional section are
/// taken from there (RFC 6763 section 12), the rest asked for. An instance is `target:port`
/// (or, with ``Configuration/resolve``, `address:port`) with the instance's own name, the
/// first label unescaped (`My Printer`), as its id; its metadata are the TXT pairs plus `ttl`
/// and `target` as the SRV backend has them, and `instance`, the full instance name; a TXT key
/// among those three is kept as `txt.KEY`. An instance without an SRV record, or whose SRV
/// target is `.`, is skipped and logged.
///
/// Asked again as ``SRVInstancer`` is: when the smallest TTL of the answers runs out, clamped
/// and jittered; NXDOMAIN and an empty PTR answer are an empty set; failures are failure events
/// with backoff, and the last good set stays.
public final class DNSSDInstancer: CoreBackedInstancer {
    /// What to browse and how often; ``minimumInterval`` must be positive and at most
    /// ``maximumInterval`` (a precondition).
    public struct Configuration: Sendable, Hashable {
        /// The service type and domain, such as `_http._tcp.example.com`.
        public var serviceType: String
        public var resolve: SRVInstancer.AddressResolution
        /// The shortest wait between refreshes, whatever the TTL (also the first retry delay).
        public var minimumInterval: Duration
        /// The longest wait between refreshes, whatever the TTL (also the longest retry delay).
        public var maximumInterval: Duration
        /// Up to this fraction of each wait is added at random.
        public var jitter: Double
        /// How long one refresh may take, every query together.
        public var queryTimeout: Duration
        /// The most instances taken from one PTR answer; more fails the refresh (bounds the
        /// queries one answer can cause).
        public var maximumInstances: Int
        /// How many instances' records are asked for at once.
        public var concurrentQueries: Int

        public init(
            serviceType: String, resolve: SRVInstancer.AddressResolution = .none,
            minimumInterval: Duration = .seconds(1), maximumInterval: Duration = .seconds(300),
            jitter: Double = 0.1, queryTimeout: Duration = .seconds(10), maximumInstances: Int = 1000,
            concurrentQueries: Int = 16
        ) {
            self.serviceType = serviceType
            self.resolve = resolve
            self.minimumInterval = minimumInterval
            self.maximumInterval = maximumInterval
            self.jitter = jitter
            self.queryTimeout = queryTimeout
            self.maximumInstances = maximumInstances
            self.concurrentQueries = concurrentQueries
        }
    }

    public let configuration: Configuration
    public let core: InstancerCore

    public init(client: DNSClient, configuration: Configuration, logger: Logger = DiscoveryLogging.disabled) {
        let logger = logger.forBackend("dnssd")
        precondition(
            configuration.minimumInterval > .zero
                && configuration.maximumInterval >= configuration.minimumInterval)
        self.configuration = configuration
        core = InstancerCore(cache: InstanceCache(confirmation: .byAnswer)) { cache in
            let resolver = DNSSDRecordResolver(client: client, configuration: configuration, logger: logger)
            let loop = DNSPollLoop(
                name: configuration.serviceType, minimumInterval: configuration.minimumInterval,
                maximumInterval: configuration.maximumInterval, jitter: configuration.jitter, logger: logger)
            await loop.run(cache: cache) { () async throws(DiscoveryError) in try await resolver.resolve() }
        }
    }

    /// The instances of `configuration.serviceType` now: one refresh as the watch makes it,
    /// without a watch. An empty set for NXDOMAIN or no PTR records, logged with the reason as
    /// the watch logs it; failures thrown.
    public static func resolve(
        client: DNSClient, configuration: Configuration, logger: Logger = DiscoveryLogging.disabled
    ) async throws(DiscoveryError) -> [Instance] {
        let logger = logger.forBackend("dnssd")
        let answer = try await DNSSDRecordResolver(
            client: client, configuration: configuration, logger: logger
        )
        .resolve()
        if let negative = answer.negative {
            logger.notice("no instances: \(negative)", metadata: DiscoveryLogEvent.noInstances.metadata())
        }
        return answer.instances
    }
}
