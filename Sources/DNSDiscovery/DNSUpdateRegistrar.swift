import Discovery
import Logging

/// Registers an instance as one SRV record of a name by RFC 2136 dynamic update, for servers
/// that accept unsigned updates from this host (there is no TSIG yet).
///
/// The instance's address `host:port` becomes `priority weight port host`, with the instance's
/// priority and weight (0 and 1 without them); ``deregister()`` deletes exactly that record.
/// The record outlives the process: DNS has no session to end it, so a crashed process leaves
/// it behind.
public final class DNSUpdateRegistrar: Registrar {
    public let instance: Instance
    private let client: DNSClient
    private let name: String
    private let ttl: UInt32
    private let record: (priority: UInt16, weight: UInt16, port: UInt16, target: String)
    private let lifecycle = RegistrarLifecycle<String>()

    /// `name` is the SRV name (`_http._tcp.web.example.com`); `ttl` the record's TTL in seconds.
    public init(client: DNSClient, name: String, instance: Instance, ttl: UInt32 = 0) throws(DiscoveryError) {
        let address = try HostPort(parsing: instance.address)
        guard !address.host.contains(":") else {
            throw DiscoveryError(
                .invalidArgument, "an SRV target is a name, not the IPv6 address \(address.host)")
        }
        self.client = client
        self.name = DNSName.relative(name)
        self.instance = instance
        self.ttl = ttl
        record = (
            UInt16(clamping: instance.priority ?? 0), UInt16(clamping: instance.weight ?? 1), address.port,
            address.host
        )
    }

    public func register() async throws {
        try await lifecycle.register { () async throws(DiscoveryError) -> String in
            let zone = try await client.zone(of: name, deadline: .now + .seconds(5))
            try await send(zone: zone, ttl: ttl)
            return zone
        }
    }

    public func deregister() async throws {
        try await lifecycle.deregister { registered, _ in
            var zone = registered
            if zone == nil { zone = try await client.zone(of: name, deadline: .now + .seconds(5)) }
            try await self.send(zone: zone!, ttl: nil)
        }
    }

    private func send(zone: String, ttl: UInt32?) async throws(DiscoveryError) {
        try await client.sendUpdate(
            zone: zone, name: name, ttl: ttl, priority: record.priority, weight: record.weight,
            port: record.port,
            target: record.target)
    }
}
