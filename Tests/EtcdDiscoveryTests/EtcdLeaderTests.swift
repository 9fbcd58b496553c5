import Discovery
import SwiftProtobuf
import TestSupport
import Testing

@testable import EtcdDiscovery

/// A member cut off from its quorum (issue #24, item 3): watches and keepalives require a
/// leader, and a member that has none is left for the next endpoint.
@Suite("etcd: a member without a leader", .serialized)
struct EtcdLeaderTests {
    /// Before, the watch stayed open on the lone member and nothing was said: its subscribers
    /// kept a set that nobody could change, as if all were well.
    @Test("a watch on a member whose peers froze reports it, and goes on once they are back")
    func watchOnLoneMember() async throws {
        try await EtcdServers.with(count: 3) { servers in
            let lone = servers.members[0]
            let etcd = try EtcdClient(.init(endpoints: [try HostPort(parsing: lone.endpoint)]))
            defer { etcd.close() }
            let instancer = EtcdInstancer(client: etcd, prefix: "/services/web/")
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set([], within: .seconds(10))

            for member in servers.members.dropFirst() { servers.freeze(member: member.name) }
            // etcd ends a leader-requiring stream after three election timeouts (0.5 s here) with
            // no leader; the bound allows a loaded machine.
            let event = try await subscription.first(within: .seconds(30), "an error event") {
                $0.failure != nil
            }
            let failure = try #require(event.failure)
            #expect(failure.message.contains("no leader"), "\(failure.message)")

            for member in servers.members.dropFirst() { servers.thaw(member: member.name) }
            _ = try await servers.leader()
            try await servers.etcdctl(["put", "/services/web/a", "10.0.0.1:80"])
            try await subscription.set(["10.0.0.1:80"], within: .seconds(30))
        }
    }

    /// Before, pick-first went back to the first endpoint that took the connection, however
    /// often it answered "no leader".
    @Test("a member answering 'no leader' is left for the next endpoint; watches ask for a leader")
    func failover() async throws {
        let fake = try await FakeGRPCServer { path, _ in
            switch path {
            case EtcdMethod.range:
                var answer = Etcdserverpb_RangeResponse()
                answer.header.revision = 1
                return .init(messages: [try! answer.serializedBytes()])
            default:
                // etcd's ErrGRPCNoLeader.
                return .init(messages: [], status: 14, message: "etcdserver: no leader")
            }
        }
        defer { fake.stop() }
        try await EtcdServers.with { servers in
            try await servers.etcdctl(["put", "/services/web/a", "10.0.0.1:80"])
            let etcd = try EtcdClient(
                .init(endpoints: [
                    HostPort(host: "127.0.0.1", port: UInt16(fake.port)),
                    try HostPort(parsing: servers.members[0].endpoint),
                ]))
            defer { etcd.close() }
            let instancer = EtcdInstancer(client: etcd, prefix: "/services/web/")
            defer { instancer.stop() }
            try await instancer.subscribe().set(["10.0.0.1:80"], within: .seconds(20))
            #expect(fake.requestsRequiringLeader[EtcdMethod.watch] == 1)
            #expect(fake.requestsRequiringLeader[EtcdMethod.range] == nil, "unary calls do not ask")
        }
    }
}
