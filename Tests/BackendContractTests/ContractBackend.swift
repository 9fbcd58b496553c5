import Discovery
import Logging
import Synchronization
import Testing

/// The contract suites, one test case at a time: each starts a server (a JVM for ZooKeeper),
/// and the rest of the test run goes on beside them on two cores.
@Suite("The backend contract", .serialized)
enum BackendContract {}

/// What the instancer contract does with one backend, on a server of its own.
protocol InstancerFixture: Sendable {
    /// A new instancer of the service under test; its client is closed with the fixture.
    func makeInstancer() throws -> any Instancer
    /// Makes the service hold a few instances and returns their addresses.
    func seed() async throws -> [String]
    /// Makes every later read fail (the server goes away for good).
    func breakBackend() async throws
}

/// What the registrar contract does as well, with a backend that takes registrations.
protocol RegistrarFixture: InstancerFixture {
    /// A registrar for `address` in the service under test, on the fixture's client.
    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar
    /// Takes `registrar`'s registration away behind its back, as the backend losing it would
    /// (a lease revoked, a session lost, a server that forgot).
    func lose(_ registrar: any Registrar) async throws
    /// Makes the backend answer a watching instancer again with the set it already has (a
    /// change beside the service's instances, a poll), and returns once that was made.
    func rewriteUnchanged() async throws
}

extension RegistrarFixture {
    /// Registers two instances (kept until the fixture ends).
    func seed() async throws -> [String] {
        let addresses = ["10.0.0.2:80", "10.0.0.1:80"]
        for address in addresses {
            try await makeRegistrar(address: address, logger: Logger(label: "seed")).register()
        }
        return addresses
    }
}

/// One backend, as the contract suites run over it: `withFixture` starts its server (or
/// emulator, or directory) and stops it afterwards, whatever happens.
struct ContractBackend: Sendable, CustomTestStringConvertible {
    let name: String
    let withFixture:
        @Sendable (_ body: @Sendable (any InstancerFixture) async throws -> Void) async throws -> Void

    var testDescription: String { name }

    /// Every backend: the instancer half of the contract.
    static let all: [ContractBackend] = [
        .file, .zooKeeper, .zooKeeperCurator, .etcd, .etcdGRPC, .srv, .consul, .eureka,
    ]
    /// The backends that register: the registrar half too.
    static let registering: [ContractBackend] = [
        .file, .zooKeeper, .zooKeeperCurator, .etcd, .etcdGRPC, .consul, .eureka,
    ]

    /// Runs `body` with a fixture that takes registrations.
    func withRegistrarFixture(_ body: @escaping @Sendable (any RegistrarFixture) async throws -> Void)
        async throws
    {
        try await withFixture { fixture in
            let registering = try #require(fixture as? any RegistrarFixture, "\(name) takes no registrations")
            try await body(registering)
        }
    }
}

/// What a fixture opened (clients, registrars), closed when it ends, the last first: so
/// registrars are deregistered before their clients close, and no keeper outlives its test.
final class Closers: Sendable {
    private let closers = Mutex<[@Sendable () async -> Void]>([])

    func add(_ close: @escaping @Sendable () async -> Void) {
        closers.withLock { $0.append(close) }
    }

    /// Registers `registrar` for deregistration at the end and returns it.
    func deregistering<R: Registrar>(_ registrar: R) -> R {
        add { try? await registrar.deregister() }
        return registrar
    }

    /// Runs `body` with a fresh set of closers, and closes everything afterwards, whatever
    /// happens.
    static func with(_ body: (Closers) async throws -> Void) async throws {
        let closers = Closers()
        do {
            try await body(closers)
        } catch {
            await closers.closeAll()
            throw error
        }
        await closers.closeAll()
    }

    private func closeAll() async {
        for close in closers.withLock({ $0 }).reversed() { await close() }
    }
}
