import Discovery
import Logging

/// Browses one DNS-SD service type over multicast DNS (RFC 6762) on the local link and
/// publishes its instances, as ``DNSSDInstancer`` does over unicast DNS.
///
/// An instance is `target:port` (or `address:port` per address with
/// ``Configuration/resolve``), its id the instance name's first label (`My Printer`), its
/// metadata the TXT pairs plus `ttl`, `target` and `instance`. The querier's schedule, known-
/// answer suppression, cache expiry (goodbyes end an instance one second after they arrive)
/// and the bound on cached records are those of RFC 6762 (docs/dns.md, "Multicast DNS").
///
/// The first set is published ``Configuration/settle`` after the first query (when nothing
/// has answered by then, half a second after the third query, about 3.5 s after the first);
/// then every change as answers, goodbyes and expiries arrive. The sockets are opened by the
/// initializer; failing that is a failure event and the instancer stops. Its thread and
/// sockets end with ``stop()``.
public final class MDNSInstancer: CoreBackedInstancer {
    public struct Configuration: Sendable, Hashable {
        /// The service type, such as `_http._tcp.local`.
        public var serviceType: String
        /// The interface to browse on; `nil` for every interface that is up with multicast on,
        /// but the loopback.
        public var interface: String?
        public var resolve: SRVInstancer.AddressResolution
        /// How long the first set waits for answers, from the first query: past the second query
        /// (1 s later, RFC 6762 section 5.2) and its answers, so that a responder that multicast
        /// within the last second (and so held back its answer to the first) is heard.
        public var settle: Duration
        /// The most records cached for the service type (PTR, SRV, TXT and addresses together).
        public var maximumRecords: Int

        public init(
            serviceType: String, interface: String? = nil, resolve: SRVInstancer.AddressResolution = .none,
            settle: Duration = .milliseconds(1500), maximumRecords: Int = 4000
        ) {
            self.serviceType = serviceType
            self.interface = interface
            self.resolve = resolve
            self.settle = settle
            self.maximumRecords = maximumRecords
        }
    }

    public let configuration: Configuration
    public let core: InstancerCore

    /// The interfaces a configuration browses on: `interface`, which must exist, be up and have
    /// multicast on, or every such interface but the loopback; thrown otherwise, with the
    /// reason. For checking a target before starting (the initializer reports it as a failure).
    public static func interfaces(named interface: String?) throws(DiscoveryError) -> [String] {
        try MDNSSockets.interfaces(named: interface).map(\.name)
    }

    public init(configuration: Configuration, logger: Logger = DiscoveryLogging.disabled) {
        let logger = logger.forBackend("mdns")
        self.configuration = configuration
        let cache = InstanceCache(confirmation: .whileWatching)
        let sockets: MDNSSockets
        let loop: MDNSLoop<MDNSQuerier>
        do {
            sockets = try MDNSSockets(interface: configuration.interface)
            loop = try MDNSLoop(logger: logger)
        } catch {
            logger.debug("cannot browse mDNS", metadata: ["sd.error": "\(error)"])
            cache.fail(error)
            core = InstancerCore(cache: cache)
            core.stop()
            return
        }
        core = InstancerCore(cache: cache, onStop: { loop.send(.stop) })
        let querier = MDNSQuerier(
            configuration: configuration, logger: logger, publish: { cache.update($0) },
            fail: { cache.fail($0) })
        logger.debug(
            "browsing mDNS",
            metadata: [
                "sd.name": "\(configuration.serviceType)",
                "sd.interfaces": "\(sockets.interfaces.map(\.name).joined(separator: ","))",
            ])
        loop.start(sockets: sockets, driver: querier, ended: {})
    }
}
