import ConsulDiscovery
import Discovery
import Foundation
import TestSupport
import Testing

/// An agent that sends its headers and the first byte of a body, and then nothing: every
/// request has a deadline that covers the body too, so neither a watch nor the registrar's
/// keeper can hang on one.
@Suite("Consul: an agent that stalls in the middle of a body")
struct ConsulStalledAgentTests {
    static func client(_ emulator: ConsulEmulator) throws -> ConsulClient {
        var configuration = try ConsulClient.Configuration(environment: [
            "CONSUL_HTTP_ADDR": emulator.httpAddress
        ])
        configuration.requestTimeout = .seconds(1)
        return try ConsulClient(configuration)
    }

    @Test("a watch whose answer stalls after its headers reports a timeout within the request deadline")
    func stalledWatch() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            try await emulator.faults(#"{"stall_body": 60, "stall_on": "GET /v1/health/service/web"}"#)
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            let started = ContinuousClock.now
            let event = try await instancer.subscribe().first(within: .seconds(20)) { $0.failure != nil }
            #expect(event.failure?.code == .timedOut, "\(String(describing: event.failure))")
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test(
        "the keeper's TTL pass stalls: the pass times out, the keeper goes on, and the registration is kept")
    func stalledKeeper() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try Self.client(emulator)
            defer { client.close() }
            let registrar = try ConsulRegistrar(
                client: client, service: "web", instance: Instance(address: "127.0.0.1:8080"),
                configuration: .init(check: .ttl(.seconds(3))))
            try await registrar.register()
            let pass = "PUT /v1/agent/check/pass/service:web-127.0.0.1-8080"
            let passes = { @Sendable in try await emulator.requestCounts()[pass] ?? 0 }
            try await eventually(.seconds(10), "a first TTL pass") { try await passes() >= 1 }
            try await emulator.faults(#"{"stall_body": 60, "stall_on": "\#(pass)"}"#)
            let stalledFrom = try await passes()
            // A keeper held by the first stalled pass would make no second one.
            try await eventually(.seconds(20), "the keeper to try again after a stalled pass") {
                try await passes() >= stalledFrom + 3
            }
            try await emulator.faults(#"{"stall_body": 0}"#)
            let instancer = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            try await instancer.subscribe().set(["127.0.0.1:8080"])
            try await registrar.deregister()
        }
    }
}
