import Discovery
import Logging

/// Watches the SRV records of one name and publishes them as instances.
///
/// An instance is `target:port` (the target without its final dot) with the record's priority
/// and weight, and its TTL and target as metadata (`ttl`, `target`). The `ttl` is that of the
/// answer that last changed the set: an answer that differs only in TTL (a caching resolver
/// counts them down) is not published as a change. With
/// ``Configuration/resolve`` set, targets become their addresses (`ip:port`), taken from the
/// reply's additional section when the server sent them there, asked for otherwise.
///
/// The records are asked for again when the answer's TTL (the smallest in it) runs out, clamped
/// to ``Configuration/minimumInterval``...``Configuration/maximumInterval`` and lengthened by up
/// to ``Configuration/jitter`` of itself, never shortened, so a change is seen only after the
/// TTL the server gave has passed. NXDOMAIN and an empty answer are an empty set, asked again
/// after the negative TTL of RFC 2308; so is a lone target of `.`, which RFC 2782 defines as
/// "decidedly not available here". A record with port 0 is skipped and logged. Failures
/// (no answer, SERVFAIL, REFUSED, a malformed reply) are failure events with backoff; the last
/// good set stays.
public final class SRVInstancer: CoreBackedInstancer {
    /// Whether and how targets are turned into addresses.
    public enum AddressResolution: String, Sendable, Hashable, CaseIterable {
        /// Instances are `target:port`.
        case none
        /// IPv4 addresses (A records).
        case a
        /// IPv6 addresses (AAAA records).
        case aaaa
        /// Both.
        case any
    }

    /// What to watch and how often; ``minimumInterval`` must be positive and at most
    /// ``maximumInterval`` (a precondition).
    public struct Configuration: Sendable, Hashable {
        /// The SRV record name, such as `_http._tcp.web.example.com`.
        public var name: String
        public var resolve: AddressResolution
        /// The shortest wait between queries, whatever the TTL (also the first retry delay).
        public var minimumInterval: Duration
        /// The longest wait between queries, whatever the TTL (also the longest retry delay).
        public var maximumInterval: Duration
        /// Up to this fraction of each wait is added at random, so clients that started
        /// together do not ask together.
        public var jitter: Double
        /// How long one refresh may take, all servers and attempts together.
        public var queryTimeout: Duration

        public init(
            name: String, resolve: AddressResolution = .none, minimumInterval: Duration = .seconds(1),
            maximumInterval: Duration = .seconds(300), jitter: Double = 0.1,
            queryTimeout: Duration = .seconds(10)
        ) {
            self.name = name
            self.resolve = resolve
            self.minimumInterval = minimumInterval
            self.maximumInterval = maximumInterval
            self.jitter = jitter
            self.queryTimeout = queryTimeout
        }
    }

    public let configuration: Configuration
    public let core: InstancerCore

    public init(
        client: DNSClient, configuration: Configuration,
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("dns")
        precondition(
            configuration.minimumInterval > .zero
                && configuration.maximumInterval >= configuration.minimumInterval)
        self.configuration = configuration
        core = InstancerCore(cache: InstanceCache(confirmation: .byAnswer)) { cache in
            await Self.watch(client: client, configuration: configuration, cache: cache, logger: logger)
        }
    }

    private static func watch(
        client: DNSClient, configuration: Configuration, cache: InstanceCache, logger: Logger
    ) async {
        let resolver = SRVRecordResolver(client: client, configuration: configuration, logger: logger)
        let loop = DNSPollLoop(
            name: configuration.name, minimumInterval: configuration.minimumInterval,
            maximumInterval: configuration.maximumInterval, jitter: configuration.jitter, logger: logger)
        await loop.run(cache: cache) { () async throws(DiscoveryError) in try await resolver.resolve() }
    }
}
