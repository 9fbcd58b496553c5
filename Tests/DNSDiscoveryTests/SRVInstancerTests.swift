import DNSDiscovery
import Discovery
import TestSupport
import Testing

/// The instancer against a real Knot DNS server.
@Suite("SRV instancer against Knot DNS", .serialized)
struct SRVInstancerTests {
    func instancer(
        _ knot: KnotServer, _ name: String, resolve: SRVInstancer.AddressResolution = .none,
        minimumInterval: Duration = .seconds(1), messages: RecordingLogHandler.Messages = .init()
    ) throws -> SRVInstancer {
        let logger = RecordingLogHandler.logger(messages)
        let client = DNSClient(
            configuration: DNSResolverConfiguration(
                servers: [try HostPort(parsing: knot.address)], timeout: .seconds(2), attempts: 2),
            logger: logger)
        return SRVInstancer(
            client: client,
            configuration: .init(
                name: name, resolve: resolve, minimumInterval: minimumInterval, queryTimeout: .seconds(5)),
            logger: logger)
    }

    @Test("instances are target:port with priority and weight, and TTL and target as metadata")
    func instances() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let instancer = try instancer(knot, "_x._tcp.example.test")
            defer { instancer.stop() }
            let set = try await instancer.subscribe().set(
                ["a.example.test:8080", "b.example.test:8081", "c.other.test:8082"])
            #expect(set.map(\.priority) == [10, 10, 20])
            #expect(set.map(\.weight) == [60, 20, 0])
            #expect(set[0].metadata == ["ttl": "60", "target": "a.example.test"])
        }
    }

    @Test("resolve takes addresses from the additional section and asks only for the rest")
    func resolveAddresses() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let messages = RecordingLogHandler.Messages()
            let instancer = try instancer(knot, "_x._tcp.example.test", resolve: .any, messages: messages)
            defer { instancer.stop() }
            // c.other.test is outside Knot's zones (REFUSED): skipped, the others stay.
            let set = try await instancer.subscribe().set(["127.0.0.1:8080", "[::1]:8081"])
            #expect(set.map { $0.metadata["target"] } == ["a.example.test", "b.example.test"])
            let asked = messages.all.filter { $0.contains("asking for an SRV target's addresses") }
            #expect(!asked.isEmpty)
            #expect(asked.allSatisfy { $0.contains("target=c.other.test") })

            let ipv4 = try self.instancer(knot, "_x._tcp.example.test", resolve: .a)
            defer { ipv4.stop() }
            try await ipv4.subscribe().set(["127.0.0.1:8080"])
        }
    }

    @Test(
        "a record with port 0 is skipped and logged; a lone '.' target and NXDOMAIN are empty sets with a reason"
    )
    func skippedAndNegative() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let messages = RecordingLogHandler.Messages()
            let zero = try instancer(knot, "_zero._tcp.example.test", messages: messages)
            defer { zero.stop() }
            try await zero.subscribe().set(["b.example.test:9000"])
            #expect(messages.all.contains { $0.contains("skipping SRV record") && $0.contains("port=0") })

            for (name, reason) in [
                ("_none._tcp.example.test", "decidedly not available"),
                ("_nope._tcp.example.test", "does not exist (NXDOMAIN from \(knot.address))"),
                ("a.example.test", "has no SRV records (empty answer"),
            ] {
                let negative = try instancer(knot, name, messages: messages)
                defer { negative.stop() }
                try await negative.subscribe().set([])
                let logged = messages.all.filter { $0.contains("no instances: \(name)") }
                #expect(logged.count == 1, "\(name)")
                #expect(logged.first?.contains(reason) == true, "\(logged)")
                #expect(logged.first?.contains("sd.event=no-instances") == true)
            }
        }
    }

    @Test("failures are events and the last good set stays: SERVFAIL, then a server that is gone")
    func failuresKeepLastGoodSet() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let broken = try instancer(knot, "_x._tcp.broken.test")
            defer { broken.stop() }
            let failure = try await broken.subscribe().first { $0.failure != nil }
            #expect(failure.failure?.code == .unavailable)
            #expect(failure.failure?.message.contains("SERVFAIL") == true)
            #expect(broken.instances == nil)

            // TTL 3 s, so the instancer asks again 3 s on, after the server is gone.
            let instancer = try instancer(knot, "_w._tcp.example.test", minimumInterval: .milliseconds(100))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set(["a.example.test:6000"])
            knot.kill()
            let gone = try await subscription.first(within: .seconds(10)) { $0.failure != nil }
            #expect(gone.failure?.code == .unavailable)
            #expect(instancer.instances?.map(\.address) == ["a.example.test:6000"])
        }
    }
}

extension SRVInstancerTests {
    @Test("an answer that differs only in its TTL is not a change; the next real change carries the new TTL")
    func ttlOnlyIsNoChange() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let instancer = try instancer(knot, "_w._tcp.example.test", minimumInterval: .milliseconds(100))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            let first = try await subscription.set(["a.example.test:6000"])
            #expect(first[0].metadata["ttl"] == "3")
            // TTL 3 -> 1, same record: asked again after 3 s and then every second, never published.
            try await knot.replace(
                zone: "example.test", owner: "_w._tcp", type: "SRV", ttl: 1, records: ["1 1 6000 a"])
            await #expect(throws: DeadlineExceeded.self) {
                try await subscription.first(within: .seconds(5), "a TTL-only change") { _ in true }
            }
            try await knot.replace(
                zone: "example.test", owner: "_w._tcp", type: "SRV", ttl: 1, records: ["1 1 6001 a"])
            // A timed-out wait ends its subscription: a new one starts from the current set.
            let changed = try await instancer.subscribe().set(["a.example.test:6001"], within: .seconds(5))
            #expect(changed[0].metadata["ttl"] == "1")
        }
    }
}
