import DNSDiscovery
import Discovery
import TestSupport
import Testing

/// DNS-SD over unicast DNS (RFC 6763) against a real Knot DNS server: PTR, SRV and TXT.
@Suite("DNS-SD instancer against Knot DNS", .serialized)
struct DNSSDInstancerTests {
    func client(
        _ knot: KnotServer, _ transport: DNSClient.Transport = .eventLoops(),
        log: RecordingLogHandler.Messages = .init()
    )
        throws -> DNSClient
    {
        DNSClient(
            configuration: DNSResolverConfiguration(
                servers: [try HostPort(parsing: knot.address)], timeout: .seconds(2), attempts: 1),
            transport: transport, logger: RecordingLogHandler.logger(log))
    }

    @Test(
        "instances: the instance's name as id, SRV target and port, TXT pairs by RFC 6763's rules as metadata"
    )
    func browse() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            for transport: DNSClient.Transport in [.eventLoops(), .threadPerExchange] {
                let log = RecordingLogHandler.Messages()
                let set = try await DNSSDInstancer.resolve(
                    client: try client(knot, transport, log: log),
                    configuration: .init(serviceType: "_http._tcp.example.test"),
                    logger: RecordingLogHandler.logger(log))
                #expect(set.map(\.address) == ["a.example.test:8080", "b.example.test:8081"])
                #expect(set.map(\.id) == ["web one", "second"])
                #expect(set.map(\.weight) == [5, 0])
                #expect(
                    set[0].metadata == [
                        "path": "/api", "secure": "true", "txt.ttl": "7", "ttl": "60",
                        "target": "a.example.test",
                        "instance": #"web\032one._http._tcp.example.test"#,
                    ])
                #expect(set[1].metadata["instance"] == "second._http._tcp.example.test")
                #expect(set[1].metadata.count == 3)
                // The instance without an SRV record is skipped and said.
                #expect(
                    log.all.contains { $0.contains("without an SRV record") && $0.contains("nosrv") },
                    "\(log.all)")
            }
        }
    }

    @Test("resolve= turns targets into addresses; NXDOMAIN is an empty set with its reason")
    func addressesAndNegative() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let addresses = try await DNSSDInstancer.resolve(
                client: try client(knot),
                configuration: .init(serviceType: "_http._tcp.example.test", resolve: .any))
            #expect(addresses.map(\.address) == ["127.0.0.1:8080", "[::1]:8081"])

            let log = RecordingLogHandler.Messages()
            let none = try await DNSSDInstancer.resolve(
                client: try client(knot), configuration: .init(serviceType: "_nope._tcp.example.test"),
                logger: RecordingLogHandler.logger(log))
            #expect(none.isEmpty)
            #expect(
                log.all.contains { $0.contains("_nope._tcp.example.test does not exist (NXDOMAIN") },
                "\(log.all)")
        }
    }

    @Test("more instances than the configured maximum fail the refresh before their records are asked for")
    func maximumInstances() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let error = await #expect(throws: DiscoveryError.self) {
                try await DNSSDInstancer.resolve(
                    client: try client(knot),
                    configuration: .init(serviceType: "_http._tcp.example.test", maximumInstances: 2))
            }
            #expect(error?.code == .invalidResponse)
            #expect(error?.cause as? InstanceLimitExceeded == InstanceLimitExceeded(limit: 2))
        }
    }

    @Test("a watch sees an instance come, its TXT change and the instance go, each after the TTL")
    func watch() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let instancer = DNSSDInstancer(
                client: try client(knot),
                configuration: .init(
                    serviceType: "_ipp._tcp.example.test", minimumInterval: .milliseconds(200), jitter: 0))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            let first = try await subscription.set(["a.example.test:631"])
            #expect(first[0].metadata["rp"] == "queue")

            try await knot.replace(
                zone: "example.test", owner: "second._ipp._tcp", type: "SRV", ttl: 1, records: ["0 0 632 b"])
            try await knot.replace(
                zone: "example.test", owner: "_ipp._tcp", type: "PTR", ttl: 1,
                records: ["printer._ipp._tcp", "second._ipp._tcp"])
            try await subscription.set(["a.example.test:631", "b.example.test:632"], within: .seconds(10))

            try await knot.replace(
                zone: "example.test", owner: "printer._ipp._tcp", type: "TXT", ttl: 1,
                records: [#""rp=other""#])
            let changed = try await subscription.first(within: .seconds(10)) {
                $0.instances?.first?.metadata["rp"] == "other"
            }
            #expect(changed.instances?.count == 2)

            try await knot.replace(
                zone: "example.test", owner: "_ipp._tcp", type: "PTR", ttl: 1, records: ["second._ipp._tcp"])
            try await subscription.set(["b.example.test:632"], within: .seconds(10))
        }
    }
}
