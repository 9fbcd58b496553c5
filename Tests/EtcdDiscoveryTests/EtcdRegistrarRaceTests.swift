import Discovery
import EtcdDiscovery
import TestSupport
import Testing

/// Registrations that meet: the same id twice, concurrent calls, a deregister during a restore.
extension EtcdTests {
    func leases(_ servers: EtcdServers) async throws -> [Substring] {
        try await servers.etcdctl(["lease", "list"]).split(separator: "\n").filter { !$0.contains("found") }
    }

    @Test("an id held by another live registration is refused, and its holder's key survives")
    func idCollision() async throws {
        try await EtcdServers.with { servers in
            let etcd = try client(servers)
            defer { etcd.close() }
            let first = try EtcdRegistrar(
                client: etcd, prefix: "/services/web/",
                instance: Instance(address: "10.0.0.1:80", id: "web-1"))
            try await first.register()
            let second = try EtcdRegistrar(
                client: etcd, prefix: "/services/web/",
                instance: Instance(address: "10.0.0.2:80", id: "web-1"))
            await #expect {
                try await second.register()
            } throws: { error in
                (error as? DiscoveryError)?.code == .alreadyExists
                    && (error as? DiscoveryError)?.message.contains("'web-1' is already registered") == true
            }
            try await second.deregister()  // nothing of its own to remove
            #expect(
                try await servers.etcdctl(["get", "/services/web/web-1", "--print-value-only"]).contains(
                    "10.0.0.1:80"))
            #expect(try await leases(servers).count == 1, "the refused registration gave its lease back")
            // A key put by hand (no lease) is someone else's too.
            try await servers.etcdctl(["put", "/services/web/manual", "10.0.0.3:80"])
            let third = try EtcdRegistrar(
                client: etcd, prefix: "/services/web/",
                instance: Instance(address: "10.0.0.4:80", id: "manual"))
            await #expect(throws: DiscoveryError.self) { try await third.register() }
            try await first.deregister()
            #expect(try await leases(servers).isEmpty)
            #expect(
                try await servers.etcdctl(["get", "/services/web/manual", "--print-value-only"]).contains(
                    "10.0.0.3:80")
            )
        }
    }

    @Test("a deregister racing a restoration leaves nothing behind")
    func deregisterDuringRestore() async throws {
        try await EtcdServers.with { servers in
            let etcd = try client(servers)
            defer { etcd.close() }
            for round in 0..<5 {
                let registrar = try EtcdRegistrar(
                    client: etcd, prefix: "/services/web/",
                    instance: Instance(address: "10.0.0.6:80", id: "r\(round)"),
                    ttl: .seconds(3))
                try await registrar.register()
                let lease = try #require(registrar.lease)
                try await servers.etcdctl(["lease", "revoke", String(lease, radix: 16)])
                try await registrar.deregister()
                #expect(try await servers.etcdctl(["get", "/services/web/r\(round)"]).isEmpty)
                #expect(try await leases(servers).isEmpty, "round \(round)")
            }
        }
    }
}
