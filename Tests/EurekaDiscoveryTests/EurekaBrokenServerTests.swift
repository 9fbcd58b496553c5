import Discovery
import EurekaDiscovery
import Foundation
import TestSupport
import Testing

/// Servers that stall in the middle of a body (every request has a deadline that covers the
/// body too, so neither a watch nor the renewals can hang on one), forget leases, or send what
/// they should not.
@Suite("Eureka: servers that stall, forget or misbehave")
struct EurekaBrokenServerTests {
    static func client(_ emulator: EurekaEmulator) throws -> EurekaClient {
        try EurekaClient(
            .init(
                server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                basePath: emulator.options.basePath, requestTimeout: .seconds(1)))
    }

    @Test("a watch whose answer stalls after its headers reports a timeout within the request deadline")
    func stalledWatch() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await emulator.faults(#"{"stall_body": 60, "stall_on": "GET "}"#)
            let instancer = EurekaInstancer(
                client: client, app: "web", configuration: EurekaEmulatorTests.fast)
            defer { instancer.stop() }
            let started = ContinuousClock.now
            let event = try await instancer.subscribe().first(within: .seconds(20)) { $0.failure != nil }
            #expect(event.failure?.code == .timedOut, "\(String(describing: event.failure))")
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test("a renewal stalls: it times out, renewals go on, and the instance stays registered")
    func stalledRenewal() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let registrar = try EurekaRegistrar(
                client: client, app: "web", instance: Instance(address: "127.0.0.1:8080"),
                configuration: .init(leaseDuration: .seconds(3)))
            try await registrar.register()
            let renew = "PUT \(emulator.options.basePath)/apps/WEB/127.0.0.1:web:8080"
            let renewals = { @Sendable in try await emulator.requestCounts()[renew] ?? 0 }
            try await eventually(.seconds(10), "a first renewal") { try await renewals() >= 1 }
            try await emulator.faults(#"{"stall_body": 60, "stall_on": "\#(renew)"}"#)
            let stalledFrom = try await renewals()
            // Renewals held by the first stalled one would make no second one.
            try await eventually(.seconds(20), "renewals to go on after a stalled one") {
                try await renewals() >= stalledFrom + 3
            }
            try await emulator.faults(#"{"stall_body": 0}"#)
            let instancer = EurekaInstancer(
                client: client, app: "web", configuration: EurekaEmulatorTests.fast)
            defer { instancer.stop() }
            try await instancer.subscribe().set(["127.0.0.1:8080"], within: .seconds(10))
            try await registrar.deregister()
        }
    }

    @Test("a lease the server forgets while draining is registered again OUT_OF_SERVICE, not UP")
    func restoreWhileDraining() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try EurekaEmulatorTests.client(emulator)
            defer { client.close() }
            let log = RecordingLogHandler.Messages()
            let registrar = try EurekaRegistrar(
                client: client, app: "web", instance: Instance(address: "127.0.0.1:8080"),
                configuration: .init(leaseDuration: .seconds(3)), logger: RecordingLogHandler.logger(log))
            try await registrar.register()
            try await registrar.markOutOfService()
            try await emulator.restart()
            try await eventually(.seconds(10), "the lease to be registered again") {
                log.all.contains { $0.contains("registered again") }
            }
            var everything = EurekaEmulatorTests.fast
            everything.statuses = nil
            let instancer = EurekaInstancer(client: client, app: "web", configuration: everything)
            defer { instancer.stop() }
            let set = try await instancer.subscribe().set(["127.0.0.1:8080"], within: .seconds(10))
            #expect(set[0].metadata["eureka.status"] == "OUT_OF_SERVICE")
            try await registrar.deregister()
        }
    }
}

extension EurekaBrokenServerTests {
    /// An instance in Eureka's JSON, with `port` as given.
    static func instanceJSON(_ id: String, port: String) -> String {
        """
        {"instanceId": "\(id)", "hostName": "h", "app": "WEB", "ipAddr": "127.0.0.1", "status": "UP",
         "port": \(port), "dataCenterInfo": {"name": "MyOwn"}}
        """
    }

    @Test("one instance with a port that is not a port is skipped (said at debug); the others are kept")
    func badInstanceIsSkipped() async throws {
        try await EurekaEmulator.with { emulator in
            let bad = [
                #""abc""#, "80.5", "1e20", #"{"$": null}"#, #"{"$": "abc"}"#, "[]", #"{"$": {"x": 1}}"#,
            ]
            let instances =
                [Self.instanceJSON("good-1", port: #"{"$": 1, "@enabled": "true"}"#)]
                + bad.enumerated().map { Self.instanceJSON("bad-\($0.offset)", port: $0.element) }
                + [Self.instanceJSON("good-2", port: "2")]
            let body =
                #"{"application": {"name": "WEB", "instance": [\#(instances.joined(separator: ","))]}}"#
            let escaped = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
            try await emulator.faults(#"{"raw_body": \#(escaped), "raw_on": "GET "}"#)
            let log = RecordingLogHandler.Messages()
            let client = try EurekaClient(
                .init(
                    server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                    basePath: emulator.options.basePath),
                logger: RecordingLogHandler.logger(log))
            defer { client.close() }
            let instancer = EurekaInstancer(
                client: client, app: "web", configuration: EurekaEmulatorTests.fast)
            defer { instancer.stop() }
            try await instancer.subscribe().set(["127.0.0.1:1", "127.0.0.1:2"])
            #expect(
                log.all.contains {
                    $0.contains("undecodable instances of WEB skipped") && $0.contains("skipped=7")
                })
        }
    }

    @Test(
        "an answer of more instances than maximumInstances is refused, saying so; one at the limit is taken")
    func instanceLimit() async throws {
        try await EurekaEmulator.with { emulator in
            let instances = (1...3).map { Self.instanceJSON("i-\($0)", port: "\($0)") }
            let body =
                #"{"application": {"name": "WEB", "instance": [\#(instances.joined(separator: ","))]}}"#
            let escaped = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
            try await emulator.faults(#"{"raw_body": \#(escaped), "raw_on": "GET "}"#)
            var configuration = EurekaClient.Configuration(
                server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                basePath: emulator.options.basePath)
            configuration.maximumInstances = 2
            let limited = try EurekaClient(configuration)
            defer { limited.close() }
            let error = await #expect(throws: DiscoveryError.self) { try await limited.instances(of: "web") }
            #expect(error?.code == .invalidResponse)
            #expect(error?.cause as? InstanceLimitExceeded == InstanceLimitExceeded(limit: 2))
            #expect(error?.message == "eureka: instances of WEB: more than 2 instances in one answer")
            configuration.maximumInstances = 3
            let enough = try EurekaClient(configuration)
            defer { enough.close() }
            #expect(try await enough.instances(of: "web").map(\.instanceID) == ["i-1", "i-2", "i-3"])
        }
    }
}
