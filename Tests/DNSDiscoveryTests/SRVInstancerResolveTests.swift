import DNSDiscovery
import Discovery
import TestSupport
import Testing

/// `SRVInstancer.resolve`, one refresh without a watch, against a real Knot DNS server: the
/// same set, reasons and failures as the instancer's first answer, over either transport.
@Suite("SRV resolve once against Knot DNS", .serialized)
struct SRVInstancerResolveTests {
    static let transports: [DNSClient.Transport] = [.eventLoops(), .threadPerExchange]

    func resolve(
        _ knot: KnotServer, _ name: String, resolve: SRVInstancer.AddressResolution = .none,
        transport: DNSClient.Transport, messages: RecordingLogHandler.Messages = .init()
    ) async throws(DiscoveryError) -> [Instance] {
        let logger = RecordingLogHandler.logger(messages)
        let server: HostPort
        do {
            server = try HostPort(parsing: knot.address)
        } catch {
            throw DiscoveryError(.invalidArgument, "\(error)")
        }
        let client = DNSClient(
            configuration: DNSResolverConfiguration(servers: [server], timeout: .seconds(2), attempts: 1),
            transport: transport, logger: logger)
        return try await SRVInstancer.resolve(
            client: client, configuration: .init(name: name, resolve: resolve, queryTimeout: .seconds(5)),
            logger: logger)
    }

    @Test("the set is the instancer's: targets, ports, priorities, weights, metadata; addresses when asked")
    func set() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            for transport in Self.transports {
                let set = try await resolve(knot, "_x._tcp.example.test", transport: transport)
                #expect(
                    set.map(\.address) == ["a.example.test:8080", "b.example.test:8081", "c.other.test:8082"])
                #expect(set.map(\.priority) == [10, 10, 20])
                #expect(set.map(\.weight) == [60, 20, 0])
                #expect(set[0].metadata == ["ttl": "60", "target": "a.example.test"])

                // c.other.test is outside Knot's zones (REFUSED): skipped, the others stay.
                let addresses = try await resolve(
                    knot, "_x._tcp.example.test", resolve: .any, transport: transport)
                #expect(addresses.map(\.address) == ["127.0.0.1:8080", "[::1]:8081"])

                // Over TCP after a truncated UDP answer.
                let big = try await resolve(knot, "_big._tcp.example.test", transport: transport)
                #expect(big.count == TestZones.bigCount)
            }
        }
    }

    @Test("NXDOMAIN and a lone '.' target are empty sets logged with their reason; SERVFAIL is thrown")
    func negativeAndFailure() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            for transport in Self.transports {
                let messages = RecordingLogHandler.Messages()
                for (name, reason) in [
                    ("_none._tcp.example.test", "decidedly not available"),
                    ("_nope._tcp.example.test", "does not exist (NXDOMAIN from \(knot.address))"),
                ] {
                    let set = try await resolve(knot, name, transport: transport, messages: messages)
                    #expect(set.isEmpty)
                    let logged = messages.all.filter { $0.contains("no instances: \(name)") }
                    #expect(logged.count == 1 && logged[0].contains(reason), "\(logged)")
                }
                let error = await #expect(throws: DiscoveryError.self) {
                    try await resolve(knot, "_x._tcp.broken.test", transport: transport)
                }
                #expect(error?.code == .unavailable)
                #expect(error?.message.contains("SERVFAIL") == true)
            }
        }
    }
}
