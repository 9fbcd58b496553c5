import Discovery
import EtcdDiscovery
import TestSupport
import Testing

/// Against a real three-member cluster on loopback (Debian's `etcd-server` package).
@Suite("etcd backend on a three-member cluster", .serialized)
struct EtcdClusterTests {
    /// Stops `member` and checks what the issue asks of a member loss: watches go on and
    /// converge on a change made through the others, and the registration keeps its lease for
    /// longer than the lease's TTL.
    func lose(
        _ member: String, _ servers: EtcdServers, watchers: [EtcdInstancer], registrar: EtcdRegistrar,
        expecting addresses: inout [String], change: String
    ) async throws {
        let lease = registrar.lease
        servers.stop(member: member)
        _ = try await servers.leader()  // etcdctl would time out a put made during the election
        try await servers.etcdctl(["put", "/services/web/\(change)", "\(change):80"])
        addresses.append("\(change):80")
        for watcher in watchers { try await watcher.subscribe().set(addresses, within: .seconds(20)) }
        // Past the 4 s lease TTL: the loss must not cost the registration its lease, and no
        // watcher may see it go.
        try await staysRegistered("10.0.0.1:80", watchers, for: .seconds(5))
        #expect(registrar.lease == lease)
        #expect(try await servers.etcdctl(["get", "--prefix", "/services/web/"]).contains("10.0.0.1:80"))
        try await servers.restart(member: member)
    }

    /// Fails if any watcher sees a set without `address` within `period`.
    func staysRegistered(_ address: String, _ watchers: [EtcdInstancer], for period: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for watcher in watchers {
                group.addTask {
                    do {
                        let event = try await watcher.subscribe().first(within: period, "\(address) gone") {
                            $0.instances.map { !$0.map(\.address).contains(address) } ?? false
                        }
                        Issue.record("\(address) vanished from a watcher: \(event)")
                    } catch is DeadlineExceeded {
                        // Nothing removed it for the whole period: as it should be.
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("stop the member in use, then the leader: watches converge, the registration survives")
    func memberLoss() async throws {
        try await EtcdServers.with(count: 3) { servers in
            let endpoints = try servers.members.map { try HostPort(parsing: $0.endpoint) }
            // Two clients with the endpoints in opposite orders, so they start on different members.
            let first = try EtcdClient(.init(endpoints: endpoints))
            defer { first.close() }
            let second = try EtcdClient(.init(endpoints: endpoints.reversed()))
            defer { second.close() }
            let instancers = [first, second].map { EtcdInstancer(client: $0, prefix: "/services/web/") }
            defer { for instancer in instancers { instancer.stop() } }
            let registrar = try EtcdRegistrar(
                client: first, prefix: "/services/web/",
                instance: Instance(address: "10.0.0.1:80", id: "web-1"),
                ttl: .seconds(4))
            try await registrar.register()
            var addresses = ["10.0.0.1:80"]
            for watcher in instancers { try await watcher.subscribe().set(addresses, within: .seconds(10)) }

            // The member the registering client talks to: the one its connection goes to.
            let inUse = try #require(
                servers.members.first { TCPConnections.established(toPort: $0.clientPort) > 0 }?.name)
            #expect(inUse == "m1")  // pick-first takes the endpoints in order
            try await lose(
                inUse, servers, watchers: instancers, registrar: registrar, expecting: &addresses,
                change: "10.0.0.2")
            #expect(TCPConnections.established(toPort: servers.members[0].clientPort) == 0)

            let leader = try await servers.leader()
            try await lose(
                leader, servers, watchers: instancers, registrar: registrar, expecting: &addresses,
                change: "10.0.0.3")

            try await registrar.deregister()
            addresses.removeAll { $0 == "10.0.0.1:80" }
            for watcher in instancers { try await watcher.subscribe().set(addresses, within: .seconds(10)) }
        }
    }
}
