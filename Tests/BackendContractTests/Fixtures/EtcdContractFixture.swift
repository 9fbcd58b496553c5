import Discovery
import EtcdDiscovery
import Logging
import TestSupport
import Testing

/// etcd: a real server (Debian's `etcd-server`), one client shared by the test.
struct EtcdContractFixture: RegistrarFixture {
    let servers: EtcdServers
    let client: EtcdClient
    let closers: Closers
    let prefix = "/services/web/"

    func makeInstancer() throws -> any Instancer {
        EtcdInstancer(client: client, prefix: prefix)
    }

    func breakBackend() async throws {
        servers.stop()
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try EtcdRegistrar(
                client: client, prefix: prefix, instance: Instance(address: address), ttl: .seconds(3),
                logger: logger))
    }

    /// The lease is revoked by someone else: the key goes with it.
    func lose(_ registrar: any Registrar) async throws {
        let registrar = try #require(registrar as? EtcdRegistrar)
        try await client.revokeLease(try #require(registrar.lease))
    }
}

extension ContractBackend {
    static let etcd = ContractBackend(name: "etcd") { body in
        try await EtcdServers.with { servers in
            let client = try EtcdClient(
                .init(endpoints: try servers.members.map { try HostPort(parsing: $0.endpoint) }))
            try await Closers.with { closers in
                closers.add { client.close() }
                try await body(EtcdContractFixture(servers: servers, client: client, closers: closers))
            }
        }
    }
}
