import ConsulDiscovery
import Discovery
import Logging
import TestSupport
import Testing

/// Consul: the agent emulator (Tests/Emulators), one client shared by the test.
struct ConsulContractFixture: RegistrarFixture {
    let emulator: ConsulEmulator
    let client: ConsulClient
    let closers: Closers
    let service = "web"

    func makeInstancer() throws -> any Instancer {
        ConsulInstancer(client: client, query: ConsulHealthQuery(service: service))
    }

    func breakBackend() async throws {
        emulator.stop()
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try ConsulRegistrar(
                client: client, service: service, instance: Instance(address: address),
                configuration: .init(check: .ttl(.seconds(3))), logger: logger))
    }

    /// The agent restarts without its state.
    func lose(_ registrar: any Registrar) async throws {
        try await emulator.restart()
    }

    /// A check's output changes, as Consul's TTL notes do: the service's index moves, so the
    /// blocking query answers, with the same instances.
    func rewriteUnchanged() async throws {
        let id = try #require(try await firstSet()?.first?.id)
        try await client.passCheck(
            ConsulServiceRegistration(id: id, name: service, port: 0).checkID, note: "touched")
    }
}

extension ContractBackend {
    static let consul = ContractBackend(name: "Consul") { body in
        try await ConsulEmulator.with { emulator in
            let client = try ConsulClient(
                ConsulClient.Configuration(environment: ["CONSUL_HTTP_ADDR": emulator.httpAddress]))
            try await Closers.with { closers in
                closers.add { client.close() }
                try await body(ConsulContractFixture(emulator: emulator, client: client, closers: closers))
            }
        }
    }
}
