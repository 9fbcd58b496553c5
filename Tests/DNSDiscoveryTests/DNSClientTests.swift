import DNSDiscovery
import Discovery
import Synchronization
import TestSupport
import Testing

/// The client against a real Knot DNS server (Debian's `knot`), and against peers that
/// misbehave on purpose.
@Suite("DNS client against Knot DNS", .serialized)
struct DNSClientTests {
    /// Each test of the exchange runs over both transports: they must not differ in anything
    /// a caller can see.
    enum Transport: String, CaseIterable, CustomTestStringConvertible {
        case eventLoops
        case threadPerExchange

        var testDescription: String { rawValue }
        var value: DNSClient.Transport { self == .eventLoops ? .eventLoops() : .threadPerExchange }
    }

    func client(
        _ transport: Transport, _ servers: [String], timeout: Duration = .seconds(5), attempts: Int = 1
    )
        throws -> DNSClient
    {
        DNSClient(
            configuration: DNSResolverConfiguration(
                servers: try servers.map { try HostPort(parsing: $0) }, timeout: timeout, attempts: attempts),
            transport: transport.value)
    }

    @Test(
        "an SRV answer decodes with priority, weight, port and target, over IPv4 and IPv6",
        arguments: Transport.allCases)
    func answer(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            for server in [knot.address, "[::1]:\(knot.port)"] {
                let response = try await client(transport, [server]).query("_x._tcp.example.test", type: .srv)
                #expect(response.message.responseCode == .noError)
                #expect(!response.overTCP)
                let records = Set(response.answers(.srv).map(\.data))
                #expect(
                    records == [
                        .srv(priority: 10, weight: 60, port: 8080, target: "a.example.test"),
                        .srv(priority: 10, weight: 20, port: 8081, target: "b.example.test"),
                        .srv(priority: 20, weight: 0, port: 8082, target: "c.other.test"),
                    ])
                #expect(response.answers(.srv).allSatisfy { $0.ttl == 60 })
                #expect(response.message.ednsPayloadSize != nil)
            }
        }
    }

    @Test(
        "an answer too large for UDP is truncated, asked again over TCP, and arrives whole",
        arguments: Transport.allCases)
    func truncatedToTCP(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let response = try await client(transport, [knot.address]).query(
                "_big._tcp.example.test", type: .srv)
            #expect(response.overTCP)
            #expect(response.answers(.srv).count == TestZones.bigCount)
        }
    }

    @Test("NXDOMAIN is an answer, with the SOA for negative caching", arguments: Transport.allCases)
    func nxdomain(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let response = try await client(transport, [knot.address]).query(
                "_nope._tcp.example.test", type: .srv)
            #expect(response.message.responseCode == .nameError)
            #expect(response.message.authorities.contains { $0.type == .soa })
        }
    }

    @Test(
        "SERVFAIL and REFUSED are failures that name the server and the code", arguments: Transport.allCases)
    func serverFailures(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            for (name, code) in [("_x._tcp.broken.test", "SERVFAIL"), ("_x._tcp.elsewhere.test", "REFUSED")] {
                let error = await #expect(throws: DiscoveryError.self) {
                    try await client(transport, [knot.address]).query(name, type: .srv)
                }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("\(knot.address) answered \(code)") == true)
            }
        }
    }

    @Test("a dead first server is failed over to the next", arguments: Transport.allCases)
    func failover(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let dead = "127.0.0.1:\(try FreePorts.take(1)[0])"
            let response = try await client(transport, [dead, knot.address]).query(
                "_x._tcp.example.test", type: .srv)
            #expect(response.server == knot.address)
        }
    }

    @Test("replies with a wrong id or from a wrong source port are ignored", arguments: Transport.allCases)
    func spoofedReplies(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let spoofer = MisbehavingDNSServer(behaviour: .spoofOnly, upstream: UInt16(knot.port))
            defer { spoofer.stop() }
            let started = ContinuousClock.now
            let error = await #expect(throws: DiscoveryError.self) {
                try await client(transport, ["127.0.0.1:\(spoofer.port)"], timeout: .milliseconds(500))
                    .query("_x._tcp.example.test", type: .srv)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("no answer") == true)
            #expect(ContinuousClock.now - started >= .milliseconds(500))
            #expect(spoofer.queries.load(ordering: .relaxed) == 1)

            let honest = MisbehavingDNSServer(behaviour: .spoofThenAnswer, upstream: UInt16(knot.port))
            defer { honest.stop() }
            let response = try await client(transport, ["127.0.0.1:\(honest.port)"]).query(
                "_x._tcp.example.test", type: .srv)
            #expect(response.answers(.srv).count == 3)
        }
    }

    @Test(
        "a UDP reply over the advertised 1232 bytes is taken as truncated and asked again over TCP",
        arguments: Transport.allCases)
    func oversizedDatagram(_ transport: Transport) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let server = MisbehavingDNSServer(behaviour: .oversized, upstream: UInt16(knot.port))
            defer { server.stop() }
            let response = try await client(transport, ["127.0.0.1:\(server.port)"]).query(
                "_big._tcp.example.test", type: .srv)
            #expect(response.overTCP)
            #expect(response.answers(.srv).count == TestZones.bigCount)
            #expect(server.queries.load(ordering: .relaxed) == 1)
        }
    }

    @Test(
        "a malformed reply is an error for that query; a silent server times out within the deadline",
        arguments: Transport.allCases)
    func malformedAndSilent(_ transport: Transport) async throws {
        let malformed = MisbehavingDNSServer(behaviour: .malformed)
        defer { malformed.stop() }
        let error = await #expect(throws: DiscoveryError.self) {
            try await client(transport, ["127.0.0.1:\(malformed.port)"]).query(
                "_x._tcp.example.test", type: .srv)
        }
        #expect(error?.code == .invalidResponse)

        let silent = MisbehavingDNSServer(behaviour: .silent)
        defer { silent.stop() }
        let started = ContinuousClock.now
        let timedOut = await #expect(throws: DiscoveryError.self) {
            try await client(transport, ["127.0.0.1:\(silent.port)"], timeout: .seconds(5), attempts: 3)
                .query("_x._tcp.example.test", type: .srv, deadline: .now + .milliseconds(700))
        }
        let elapsed = ContinuousClock.now - started
        #expect(timedOut?.code == .timedOut || timedOut?.code == .unavailable)
        #expect(elapsed >= .milliseconds(700) && elapsed < .seconds(3))
    }

    @Test(
        "a TCP answer that stops short of its length prefix ends at the deadline, not later",
        arguments: Transport.allCases)
    func dripOverTCP(_ transport: Transport) async throws {
        let server = MisbehavingDNSServer(behaviour: .dripOverTCP)
        defer { server.stop() }
        let started = ContinuousClock.now
        let error = await #expect(throws: DiscoveryError.self) {
            try await client(transport, ["127.0.0.1:\(server.port)"], timeout: .seconds(60), attempts: 1)
                .query("_x._tcp.example.test", type: .srv, deadline: .now + .milliseconds(700))
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .timedOut || error?.code == .unavailable, "\(String(describing: error))")
        #expect(elapsed >= .milliseconds(700) && elapsed < .seconds(5), "\(elapsed)")
        #expect(server.queries.load(ordering: .relaxed) == 1)
    }

    @Test("cancelling a query ends it at once, long before its deadline", arguments: Transport.allCases)
    func cancellation(_ transport: Transport) async throws {
        let silent = MisbehavingDNSServer(behaviour: .silent)
        defer { silent.stop() }
        let client = try client(transport, ["127.0.0.1:\(silent.port)"], timeout: .seconds(60))
        let query = Task { try await client.query("_x._tcp.example.test", type: .srv) }
        try await eventually(.seconds(10), "the query reached the server") {
            silent.queries.load(ordering: .relaxed) == 1
        }
        let cancelled = ContinuousClock.now
        query.cancel()
        let error = await #expect(throws: DiscoveryError.self) { try await query.value }
        #expect(error?.code == .stopped, "\(String(describing: error))")
        #expect(ContinuousClock.now - cancelled < .seconds(2))
    }

    @Test("a SERVFAIL on the way through the search list makes the answer a failure, not NXDOMAIN")
    func servfailThenNegativeIsFailure() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let client = DNSClient(
                configuration: DNSResolverConfiguration(
                    servers: [try HostPort(parsing: knot.address)], search: ["example.test"], ndots: 5,
                    timeout: .seconds(2), attempts: 1))
            // The search-list name is NXDOMAIN; the name as given (tried last) is SERVFAIL.
            let error = await #expect(throws: DiscoveryError.self) {
                try await client.query("_x._tcp.broken.test", type: .srv)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("SERVFAIL") == true)
            #expect(error?.message.contains("_x._tcp.broken.test") == true)
        }
    }

    @Test("in the search list, SERVFAIL moves on to the next name, as glibc's res_search does")
    func servfailMovesOnInSearch() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let client = DNSClient(
                configuration: DNSResolverConfiguration(
                    servers: [try HostPort(parsing: knot.address)], search: ["broken.test", "example.test"],
                    ndots: 5, timeout: .seconds(2), attempts: 1))
            let response = try await client.query("_x._tcp", type: .srv)
            #expect(response.name == "_x._tcp.example.test")
            #expect(response.answers(.srv).count == 3)
        }
    }
}
