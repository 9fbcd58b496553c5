import Discovery
import EurekaDiscovery
import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// The library against the Eureka emulator (Tests/Emulators), started per test.
@Suite("Eureka: instancer and registrar against the emulator")
struct EurekaEmulatorTests {
    static func client(_ emulator: EurekaEmulator, user: String? = nil, password: String? = nil) throws
        -> EurekaClient
    {
        try EurekaClient(
            .init(
                server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                basePath: emulator.options.basePath, username: user, password: password))
    }

    static func register(
        _ emulator: EurekaEmulator, _ id: String, port: Int, status: String = "UP", app: String = "WEB"
    ) async throws {
        let body = """
            {"instance": {"instanceId": "\(id)", "hostName": "h", "app": "\(app)", "ipAddr": "127.0.0.1",
             "status": "\(status)", "port": {"$": \(port), "@enabled": "true"},
             "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}}}
            """
        let (code, reply) = try await emulator.request(.POST, "/apps/\(app)", body: body)
        #expect(code == 204, "\(reply)")
    }

    static let fast = EurekaInstancer.Configuration(
        interval: .seconds(1), errorBackoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1)))

    @Test("UP only by default, every status on request; a 404 app is an empty set")
    func statusFiltering() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let empty = EurekaInstancer(client: client, app: "web", configuration: Self.fast)
            defer { empty.stop() }
            // Two requests (the 404, then the registry check); the bound allows for CI's load.
            try await empty.subscribe().set([], within: .seconds(15))
            try await Self.register(emulator, "a", port: 1)
            try await Self.register(emulator, "b", port: 2, status: "STARTING")
            try await Self.register(emulator, "c", port: 3, status: "OUT_OF_SERVICE")
            let up = EurekaInstancer(client: client, app: "WEB", configuration: Self.fast)
            defer { up.stop() }
            let set = try await up.subscribe().set(["127.0.0.1:1"])
            #expect(set[0].id == "a" && set[0].metadata["eureka.status"] == "UP")
            var everything = Self.fast
            everything.statuses = nil
            let all = EurekaInstancer(client: client, app: "WEB", configuration: everything)
            defer { all.stop() }
            try await all.subscribe().set(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"])
        }
    }

    @Test("a registrar's instance appears, renews past its lease, and goes when it deregisters")
    func registerRenewDeregister() async throws {
        try await EurekaEmulator.with(.init(evictionInterval: "0.2")) { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let registrar = try EurekaRegistrar(
                client: client, app: "web",
                instance: Instance(address: "127.0.0.1:8080", metadata: ["v": "2"]),
                configuration: .init(leaseDuration: .seconds(3)))
            #expect(registrar.instance.id == "127.0.0.1:web:8080")
            let instancer = EurekaInstancer(client: client, app: "WEB", configuration: Self.fast)
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await registrar.register()
            let set = try await subscription.set(["127.0.0.1:8080"])
            #expect(set[0].metadata["v"] == "2")
            // Renewed every second: still there after twice its lease.
            try await Task.sleep(for: .seconds(6))
            #expect(try await client.instances(of: "WEB").map(\.instanceID) == ["127.0.0.1:web:8080"])
            try await registrar.deregister()
            try await subscription.set([])
            try await registrar.deregister()
        }
    }

    @Test("a server that forgets every lease (restart) gets the registration back, and that is logged")
    func restartReregisters() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let log = RecordingLogHandler.Messages()
            let registrar = try EurekaRegistrar(
                client: client, app: "WEB", instance: Instance(address: "127.0.0.1:7000"),
                configuration: .init(leaseDuration: .seconds(3)), logger: RecordingLogHandler.logger(log))
            try await registrar.register()
            try await emulator.restart()
            try await eventually(.seconds(10), "the registration back") {
                log.all.contains { $0.contains("sd.event=registration-restored") }
            }
            #expect(try await client.instances(of: "WEB").map(\.instanceID) == ["127.0.0.1:web:7000"])
            try await registrar.deregister()
        }
    }

    @Test("deregistering with a drain marks the instance OUT_OF_SERVICE first")
    func drain() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let registrar = try EurekaRegistrar(
                client: client, app: "WEB", instance: Instance(address: "127.0.0.1:7001"),
                configuration: .init(drain: .seconds(2)))
            try await registrar.register()
            let clock = ContinuousClock()
            let started = clock.now
            let deregistering = Task { try await registrar.deregister() }
            var drained = false
            while !drained, clock.now - started < .seconds(5) {
                drained = try await emulator.request(.GET, "/apps/WEB").body.contains(
                    #""status": "OUT_OF_SERVICE""#)
                if !drained { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(drained, "listed OUT_OF_SERVICE while draining, so UP-only clients drop it")
            try await deregistering.value
            #expect(clock.now - started >= .seconds(2))
            #expect(try await emulator.request(.GET, "/apps/WEB").status == 404)
        }
    }

    @Test("a server that vanishes: error events with backoff, then recovery")
    func serverVanishes() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await Self.register(emulator, "a", port: 1)
            let log = RecordingLogHandler.Messages()
            let instancer = EurekaInstancer(
                client: client, app: "WEB", configuration: Self.fast, logger: RecordingLogHandler.logger(log))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set(["127.0.0.1:1"])
            try await emulator.faults(#"{"refuse": true}"#)
            let failure = try await subscription.first(within: .seconds(10)) { $0.failure != nil }
            #expect(failure.failure?.code == .unavailable)
            try await emulator.faults(#"{"refuse": false}"#)
            try await subscription.set(["127.0.0.1:1"], within: .seconds(10))
            #expect(!log.delays(of: "read failed").isEmpty)
        }
    }

    @Test("the Netflix base path with basic authentication; 401 is permission denied")
    func netflixPathAndAuthentication() async throws {
        try await EurekaEmulator.with(.init(basePath: "/eureka/v2", user: "admin", password: "pw")) {
            emulator in
            let anonymous = try Self.client(emulator)
            defer { anonymous.close() }
            await #expect { try await anonymous.instances(of: "WEB") } throws: { error in
                (error as? DiscoveryError)?.code == .permissionDenied && !"\(error)".contains("pw")
            }
            let admin = try Self.client(emulator, user: "admin", password: "pw")
            defer { admin.close() }
            let registrar = try EurekaRegistrar(
                client: admin, app: "WEB", instance: Instance(address: "127.0.0.1:1"))
            try await registrar.register()
            #expect(try await admin.instances(of: "web").count == 1)
            try await registrar.deregister()
        }
    }
}
