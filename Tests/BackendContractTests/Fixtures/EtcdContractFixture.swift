import Discovery
import EtcdDiscovery
import Logging
import TestSupport
import Testing

/// etcd: a real server (Debian's `etcd-server`), one client shared by the test, in one layout
/// (go-kit's, read by detection, or the gRPC naming endpoints manager's, read as told).
struct EtcdContractFixture: RegistrarFixture {
    let servers: EtcdServers
    let client: EtcdClient
    let closers: Closers
    let layout: EtcdLayout
    let prefix = "/services/web/"

    func makeInstancer() throws -> any Instancer {
        EtcdInstancer(client: client, prefix: prefix, layout: layout == .gokit ? nil : layout)
    }

    func breakBackend() async throws {
        servers.stop()
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try EtcdRegistrar(
                client: client, prefix: prefix, instance: Instance(address: address), layout: layout,
                ttl: .seconds(3), logger: logger))
    }

    /// The lease is revoked by someone else: the key goes with it.
    func lose(_ registrar: any Registrar) async throws {
        let registrar = try #require(registrar as? EtcdRegistrar)
        try await client.revokeLease(try #require(registrar.lease))
    }

    /// A key that fits no layout comes and goes: two revisions under the prefix, the same set.
    func rewriteUnchanged() async throws {
        let key = Array((prefix + "not-an-instance").utf8)
        _ = try await client.put(key, Array("not an instance".utf8))
        _ = try await client.delete(key)
    }
}

extension ContractBackend {
    static let etcd = ContractBackend(name: "etcd") { body in
        try await EtcdContractFixture.with(layout: .gokit, body)
    }

    static let etcdGRPC = ContractBackend(name: "etcd, gRPC naming layout") { body in
        try await EtcdContractFixture.with(layout: .grpc, body)
    }
}

extension EtcdContractFixture {
    fileprivate static func with(
        layout: EtcdLayout, _ body: @Sendable (any InstancerFixture) async throws -> Void
    ) async throws {
        try await EtcdServers.with { servers in
            let client = try EtcdClient(
                .init(endpoints: try servers.members.map { try HostPort(parsing: $0.endpoint) }))
            try await Closers.with { closers in
                closers.add { client.close() }
                try await body(
                    EtcdContractFixture(servers: servers, client: client, closers: closers, layout: layout))
            }
        }
    }
}
