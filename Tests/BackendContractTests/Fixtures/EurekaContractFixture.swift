import Discovery
import EurekaDiscovery
import Logging
import TestSupport

/// Eureka: the server emulator (Tests/Emulators), one client shared by the test; the instancer
/// polls every second.
struct EurekaContractFixture: RegistrarFixture {
    let emulator: EurekaEmulator
    let client: EurekaClient
    let closers: Closers
    let app = "WEB"

    func makeInstancer() throws -> any Instancer {
        EurekaInstancer(client: client, app: app, configuration: .init(interval: .seconds(1)))
    }

    func breakBackend() async throws {
        emulator.stop()
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try EurekaRegistrar(
                client: client, app: app, instance: Instance(address: address),
                configuration: .init(leaseDuration: .seconds(3)), logger: logger))
    }

    /// The server restarts and forgets every lease.
    func lose(_ registrar: any Registrar) async throws {
        try await emulator.restart()
    }

    /// The instancer polls every second: two more reads of the application answer the same.
    func rewriteUnchanged() async throws {
        let read = "GET \(emulator.options.basePath)/apps/\(app)"
        let reads = { @Sendable in try await emulator.requestCounts()[read] ?? 0 }
        let before = try await reads()
        try await eventually(.seconds(10), "two more reads of the application") {
            try await reads() >= before + 2
        }
    }
}

extension ContractBackend {
    static let eureka = ContractBackend(name: "Eureka") { body in
        try await EurekaEmulator.with { emulator in
            let client = try EurekaClient(
                .init(
                    server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                    basePath: emulator.options.basePath))
            try await Closers.with { closers in
                closers.add { client.close() }
                try await body(EurekaContractFixture(emulator: emulator, client: client, closers: closers))
            }
        }
    }
}
