import Discovery
import Logging

extension SRVInstancer {
    /// The instances the SRV records of `configuration.name` give now: one refresh as the
    /// watch makes it (the same queries within ``Configuration/queryTimeout``, the same
    /// address resolution and rules), without a watch. NXDOMAIN, an empty answer and a lone
    /// target of `.` are an empty set, logged as the watch logs them; anything the watch would
    /// publish as a failure is thrown.
    ///
    /// For a process that asks once: with a client on ``DNSClient/Transport/threadPerExchange``
    /// nothing of swift-nio is started.
    public static func resolve(
        client: DNSClient, configuration: Configuration, logger: Logger = DiscoveryLogging.disabled
    ) async throws(DiscoveryError) -> [Instance] {
        let logger = logger.forBackend("dns")
        let answer = try await SRVRecordResolver(client: client, configuration: configuration, logger: logger)
            .resolve()
        if let negative = answer.negative {
            logger.notice("no instances: \(negative)", metadata: DiscoveryLogEvent.noInstances.metadata())
        }
        return answer.instances
    }
}
