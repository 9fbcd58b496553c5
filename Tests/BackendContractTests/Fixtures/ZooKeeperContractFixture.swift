import Discovery
import Logging
import Synchronization
import TestSupport
import Testing
import ZooKeeperDiscovery

/// ZooKeeper: a real server (Debian's `zookeeper`), one client per instancer or registrar.
struct ZooKeeperContractFixture: RegistrarFixture {
    let servers: ZooKeeperServers
    let closers: Closers
    let path = "/services/web"

    private func client() throws -> ZooKeeperClient {
        let client = try ZooKeeperClient(
            .init(connectString: servers.connectString, sessionTimeout: .seconds(4)))
        closers.add { client.close() }
        return client
    }

    func makeInstancer() throws -> any Instancer {
        ZooKeeperInstancer(client: try client(), path: path, connectTimeout: .milliseconds(500))
    }

    func breakBackend() async throws {
        servers.stop()
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try ZooKeeperRegistrar(
                client: try client(), path: path, instance: Instance(address: address),
                connectTimeout: .seconds(10), logger: logger))
    }

    /// The server is rebuilt with empty data: every session and ephemeral node is gone.
    func lose(_ registrar: any Registrar) async throws {
        servers.stop(member: 1)
        try await servers.restart(member: 1, wipingData: true)
    }
}

extension ContractBackend {
    static let zooKeeper = ContractBackend(name: "ZooKeeper") { body in
        try await ZooKeeperServers.with { servers in
            try await Closers.with { closers in
                try await body(ZooKeeperContractFixture(servers: servers, closers: closers))
            }
        }
    }
}
