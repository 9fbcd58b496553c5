import Discovery
import Logging
import Synchronization
import TestSupport
import Testing
import ZooKeeperDiscovery

/// ZooKeeper: a real server (Debian's `zookeeper`), one client per instancer or registrar, in
/// one layout (go-kit's, read by detection, or Curator's, read as told).
struct ZooKeeperContractFixture: RegistrarFixture {
    let servers: ZooKeeperServers
    let closers: Closers
    let layout: ZooKeeperLayout
    let path = "/services/web"

    private func client() throws -> ZooKeeperClient {
        let client = try ZooKeeperClient(
            .init(connectString: servers.connectString, sessionTimeout: .seconds(4)))
        closers.add { client.close() }
        return client
    }

    func makeInstancer() throws -> any Instancer {
        ZooKeeperInstancer(
            client: try client(), path: path, layout: layout == .gokit ? nil : layout,
            connectTimeout: .milliseconds(500))
    }

    func breakBackend() async throws {
        servers.stop()
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try ZooKeeperRegistrar(
                client: try client(), path: path, instance: Instance(address: address), layout: layout,
                connectTimeout: .seconds(10), logger: logger))
    }

    /// The server is rebuilt with empty data: every session and ephemeral node is gone.
    func lose(_ registrar: any Registrar) async throws {
        servers.stop(member: 1)
        try await servers.restart(member: 1, wipingData: true)
    }

    /// A child that fits no layout comes and goes: the children change twice, the set does not.
    func rewriteUnchanged() async throws {
        let client = try client()
        _ = try await client.create(
            path + "/not-an-instance", data: Array("not an instance".utf8), mode: .persistent)
        try await client.delete(path + "/not-an-instance")
    }
}

extension ContractBackend {
    static let zooKeeper = ContractBackend(name: "ZooKeeper") { body in
        try await ZooKeeperContractFixture.with(layout: .gokit, body)
    }

    static let zooKeeperCurator = ContractBackend(name: "ZooKeeper, Curator's layout") { body in
        try await ZooKeeperContractFixture.with(layout: .curator, body)
    }
}

extension ZooKeeperContractFixture {
    fileprivate static func with(
        layout: ZooKeeperLayout, _ body: @Sendable (any InstancerFixture) async throws -> Void
    ) async throws {
        try await ZooKeeperServers.with { servers in
            try await Closers.with { closers in
                try await body(ZooKeeperContractFixture(servers: servers, closers: closers, layout: layout))
            }
        }
    }
}
