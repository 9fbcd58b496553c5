import ConsulDiscovery
import Discovery
import Foundation
import TestSupport
import Testing

/// The library against the Consul emulator (Tests/Emulators), started per test.
@Suite("Consul: instancer and registrar against the emulator")
struct ConsulEmulatorTests {
    static func client(_ emulator: ConsulEmulator, token: String? = nil) throws -> ConsulClient {
        var configuration = try ConsulClient.Configuration(environment: [
            "CONSUL_HTTP_ADDR": emulator.httpAddress
        ])
        configuration.token = token
        return try ConsulClient(configuration)
    }

    static func register(
        _ client: ConsulClient, _ id: String, port: Int, tags: [String] = [], passing: Bool = true
    )
        async throws
    {
        try await client.register(
            ConsulServiceRegistration(
                id: id, name: "web", address: "127.0.0.1", port: port, tags: tags, check: .ttl(.seconds(60)),
                initialStatus: passing ? "passing" : nil))
    }

    @Test("a registrar's instance appears, and goes when it deregisters")
    func registerAndDeregister() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set([])
            let registrar = try ConsulRegistrar(
                client: client, service: "web",
                instance: Instance(
                    address: "127.0.0.1:8080", tags: ["prod"], metadata: ["version": "1"], weight: 5))
            try await registrar.register()
            let set = try await subscription.set(["127.0.0.1:8080"])
            #expect(set[0].id == "web-127.0.0.1-8080" && set[0].tags == ["prod"] && set[0].weight == 5)
            #expect(set[0].metadata["version"] == "1" && set[0].metadata["consul.node"] == "emulator")
            try await registrar.deregister()
            try await subscription.set([])
            try await registrar.deregister()  // idempotent
        }
    }

    @Test("several tags mean AND, on the server and again here for servers that use only the first")
    func tagsAreANDed() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await Self.register(client, "a", port: 1, tags: ["prod", "eu"])
            try await Self.register(client, "b", port: 2, tags: ["prod"])
            for oldServer in [false, true] {
                try await emulator.faults(#"{"first_tag_only": \#(oldServer)}"#)
                let answer = try await client.health(ConsulHealthQuery(service: "web", tags: ["prod", "eu"]))
                #expect(answer.entries.map(\.serviceID) == ["a"], "old server: \(oldServer)")
            }
            let instancer = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web", tags: ["prod"]))
            defer { instancer.stop() }
            try await instancer.subscribe().set(["127.0.0.1:1", "127.0.0.1:2"])
        }
    }

    @Test("passing only by default; all instances on request")
    func passingOnly() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await Self.register(client, "up", port: 1)
            try await Self.register(client, "new", port: 2, passing: false)
            let passing = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { passing.stop() }
            let all = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web", passingOnly: false))
            defer { all.stop() }
            let watching = passing.subscribe()
            try await watching.set(["127.0.0.1:1"])
            try await all.subscribe().set(["127.0.0.1:1", "127.0.0.1:2"])
            try await client.passCheck("service:new")
            try await watching.set(["127.0.0.1:1", "127.0.0.1:2"])
        }
    }

    @Test("an index that goes backwards is reset instead of blocked on until the wait runs out")
    func indexReset() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            for port in 1...8 { try await Self.register(client, "s\(port)", port: port) }
            let log = RecordingLogHandler.Messages()
            let instancer = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web"),
                configuration: .init(wait: .seconds(2)), logger: RecordingLogHandler.logger(log))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set((1...8).map { "127.0.0.1:\($0)" })
            // A snapshot restore: Consul keeps the parked query waiting (its index is not
            // passed) until the wait runs out, then answers with the lower index.
            try await emulator.indexBackwards()
            try await Self.register(client, "s9", port: 9)
            try await subscription.set((1...9).map { "127.0.0.1:\($0)" }, within: .seconds(5))
            #expect(log.all.contains { $0.contains("index went backwards") })
            // Reset, the loop blocks on the new, lower index: a change comes through at once.
            // Kept on the old index (or its maximum) it would see nothing until every wait ran out.
            let clock = ContinuousClock()
            let started = clock.now
            try await Self.register(client, "s10", port: 10)
            try await subscription.set((1...10).map { "127.0.0.1:\($0)" }, within: .seconds(5))
            // Blocked on the old index it would wait out the 2 s wait, parked just before
            // `started`; at once is under that even on a loaded machine (1.15 s seen with a build
            // running beside the tests, 1.62 s in a full run on 2 cores).
            #expect(clock.now - started < .milliseconds(1800))
        }
    }

    @Test("an agent that forgets the service (restart) gets it registered again, and that is logged")
    func agentRestart() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let log = RecordingLogHandler.Messages()
            let registrar = try ConsulRegistrar(
                client: client, service: "web", instance: Instance(address: "127.0.0.1:7000"),
                configuration: .init(check: .ttl(.seconds(2))), logger: RecordingLogHandler.logger(log))
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await registrar.register()
            try await subscription.set(["127.0.0.1:7000"])
            try await emulator.restart()
            try await subscription.set([])
            try await subscription.set(["127.0.0.1:7000"], within: .seconds(10))
            // Logged once the registrar learns it worked, which may be after watchers saw it.
            try await eventually(.seconds(5), "the restoration logged") {
                log.all.contains { $0.contains("sd.event=registration-restored") }
            }
            // Passed since: still passing after more than a TTL.
            try await Task.sleep(for: .seconds(3))
            let answer = try await client.health(ConsulHealthQuery(service: "web"))
            #expect(answer.entries.map(\.serviceID) == ["web-127.0.0.1-7000"])
            try await registrar.deregister()
            #expect(try await client.agentServices().isEmpty)
        }
    }

    @Test(
        "403s: a registrar without the token is refused; a read with an unknown token fails as permission denied"
    )
    func permissionDenied() async throws {
        try await ConsulEmulator.with(.init(aclToken: "root")) { emulator in
            let anonymous = try Self.client(emulator)
            defer { anonymous.close() }
            let registrar = try ConsulRegistrar(
                client: anonymous, service: "web", instance: Instance(address: "127.0.0.1:1"))
            await #expect { try await registrar.register() } throws: { error in
                (error as? DiscoveryError)?.code == .permissionDenied
                    && "\(error)".contains("lacks permission 'service:write'")
            }
            let wrong = try Self.client(emulator, token: "wrong")
            defer { wrong.close() }
            let instancer = ConsulInstancer(client: wrong, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            let event = try await instancer.subscribe().first { $0.failure != nil }
            #expect(event.failure?.code == .permissionDenied)
            #expect(event.failure?.message.contains("ACL not found") == true)
            #expect(event.failure?.message.contains("wrong") == false, "the token is never in a message")
            let root = try Self.client(emulator, token: "root")
            defer { root.close() }
            try await Self.register(root, "a", port: 1)
            #expect(try await root.health(ConsulHealthQuery(service: "web")).entries.count == 1)
        }
    }

    @Test("HTTPS with a CA the test makes, a client certificate, and CONSUL_TLS_SERVER_NAME")
    func tls() async throws {
        let directory = TemporaryDirectory("sdctl-consul-tls")
        defer { directory.remove() }
        let certificates = try await TestCertificates.make(in: directory.path)
        let options = ConsulEmulator.Options(
            tls: .init(
                certificate: certificates.serverCertificate, key: certificates.serverKey,
                clientCA: certificates.caFile,
                clientCertificate: certificates.clientCertificate, clientKey: certificates.clientKey))
        try await ConsulEmulator.with(options) { emulator in
            let base = [
                "CONSUL_HTTP_ADDR": "https://\(emulator.address)", "CONSUL_CACERT": certificates.caFile,
                "CONSUL_CLIENT_CERT": certificates.clientCertificate,
                "CONSUL_CLIENT_KEY": certificates.clientKey,
            ]
            let variants = [
                base, base.merging(["CONSUL_TLS_SERVER_NAME": "localhost"]) { $1 },
                base.merging(["CONSUL_CACERT": "", "CONSUL_CAPATH": directory.path]) { $1 },
            ]
            for environment in variants {
                let client = try ConsulClient(ConsulClient.Configuration(environment: environment))
                defer { client.close() }
                try await Self.register(client, "a", port: 1)
                #expect(try await client.health(ConsulHealthQuery(service: "web")).entries.count == 1)
            }
            let distrusting = try ConsulClient(
                ConsulClient.Configuration(
                    environment: base.merging(["CONSUL_CACERT": certificates.otherCAFile]) { $1 }))
            defer { distrusting.close() }
            await #expect { try await distrusting.health(ConsulHealthQuery(service: "web")) } throws: {
                error in
                (error as? DiscoveryError)?.code == .unavailable && "\(error)".contains("TLS")
            }
            // CONSUL_TLS_SERVER_NAME is what the client asked for (and verified: NIOSSL also accepts
            // a certificate whose IP SAN is the connected address, as this test's is).
            #expect(try await emulator.serverNames().contains("localhost"))
        }
    }

    @Test("a TCP-checked registration is judged by the agent: passing while the port listens")
    func tcpCheck() async throws {
        let listener = try TCPListener()
        defer { listener.close() }
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let address = "127.0.0.1:\(listener.port)"
            let registrar = try ConsulRegistrar(
                client: client, service: "web", instance: Instance(address: address),
                configuration: .init(check: .tcp(address: address, interval: .seconds(1))))
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await registrar.register()
            // Critical until the agent's first probe, as in Consul; then passing.
            try await subscription.set([address], within: .seconds(10))
            listener.close()
            try await subscription.set([], within: .seconds(10))
            try await registrar.deregister()
        }
    }

    @Test("an agent on a Unix socket")
    func unixSocket() async throws {
        let directory = TemporaryDirectory("sdctl-consul-unix")
        defer { directory.remove() }
        try await ConsulEmulator.with(.init(unixSocket: "\(directory.path)/consul.sock")) { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await Self.register(client, "a", port: 1)
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            try await instancer.subscribe().set(["127.0.0.1:1"])
        }
    }

    @Test("deregistering removes exactly that service id, found by id or by address")
    func maintenanceRemovesExactly() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await Self.register(client, "a", port: 1)
            try await Self.register(client, "b", port: 2)
            #expect(
                try await ConsulMaintenance.remove(idOrAddress: "127.0.0.1:2", service: "web", client: client)
                    == ["b"])
            #expect(
                try await ConsulMaintenance.remove(idOrAddress: "b", service: "web", client: client) == [])
            #expect(
                try await ConsulMaintenance.remove(idOrAddress: "a", service: "other", client: client) == [])
            #expect(try await client.agentServices().keys.sorted() == ["a"])
        }
    }
}
