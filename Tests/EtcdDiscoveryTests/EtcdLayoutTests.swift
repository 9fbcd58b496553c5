import Discovery
import EtcdDiscovery
import Foundation
import TestSupport
import Testing

/// etcd's gRPC naming values, and both layouts side by side on a real member.
@Suite("etcd layouts: go-kit's and etcd's gRPC naming")
struct EtcdLayoutTests {
    @Test("the endpoints manager's JSON: read as Go writes it, written as Go writes it")
    func json() throws {
        // encoding/json of internal.Update{Op: Add, Addr: ..., Metadata: map[string]string{...}}.
        let go = Array(#"{"Op":0,"Addr":"10.0.0.1:80","Metadata":{"version":"2","zone":"eu-1"}}"#.utf8)
        let update = try GRPCNamingUpdate(json: go)
        #expect(
            update == GRPCNamingUpdate(address: "10.0.0.1:80", metadata: ["version": "2", "zone": "eu-1"]))
        #expect(update.json == go)
        let instance = try #require(try update.instance(id: "10.0.0.1:80"))
        #expect(instance.address == "10.0.0.1:80" && instance.zone == "eu-1" && instance.id == "10.0.0.1:80")
        #expect(
            GRPCNamingUpdate(address: "[::1]:80").json
                == Array(#"{"Op":0,"Addr":"[::1]:80","Metadata":null}"#.utf8))
        // A delete put by an older writer is no instance; scalar metadata is kept.
        #expect(
            try GRPCNamingUpdate(json: Array(#"{"Op":1,"Addr":"10.0.0.1:80"}"#.utf8)).instance(id: "x") == nil
        )
        #expect(
            try GRPCNamingUpdate(json: Array(#"{"Addr":"h:1","Metadata":7}"#.utf8)).metadata == [
                "grpc.metadata": "7"
            ])
    }

    @Test(
        "malformed and hostile values are refused with a reason",
        arguments: [
            "", "{", #"{"Op":"0"}"#, #"{"Op":2,"Addr":"h:1"}"#, String(repeating: "[", count: 100_000),
            #"{"Addr":"h:1","Metadata":"# + String(repeating: #"{"a":"#, count: 5000),
        ])
    func refused(text: String) {
        #expect(throws: DiscoveryError.self) { try GRPCNamingUpdate(json: Array(text.utf8)) }
    }

    @Test("an update whose address is not one is refused by instance(id:)")
    func badAddress() throws {
        let update = try GRPCNamingUpdate(json: Array(#"{"Op":0,"Addr":"nonsense"}"#.utf8))
        #expect(throws: DiscoveryError.self) { try update.instance(id: "x") }
    }

    func client(_ servers: EtcdServers) throws -> EtcdClient {
        let endpoints = try servers.members.map { try HostPort(parsing: $0.endpoint) }
        return try EtcdClient(.init(endpoints: endpoints))
    }

    @Test(
        "keys in either layout are read without being told, only one with layout:, what fits none reported once; a registrar in gRPC naming writes the manager's JSON under a lease; without a layout it registers in the one found"
    )
    func onARealMember() async throws {
        try await EtcdServers.with { servers in
            let shared = try client(servers)
            defer { shared.close() }
            try await servers.etcdctl([
                "put", "web/10.0.0.1:80", #"{"Op":0,"Addr":"10.0.0.1:80","Metadata":{"zone":"eu-1"}}"#,
            ])
            try await servers.etcdctl(["put", "web/gokit", "10.0.0.2:80"])
            try await servers.etcdctl(["put", "web/bad-1", "nonsense"])
            try await servers.etcdctl(["put", "web/bad-2", #"{"Op":"#])
            let log = RecordingLogHandler.Messages()
            let detecting = EtcdInstancer(
                client: shared, prefix: "web/", logger: RecordingLogHandler.logger(log))
            defer { detecting.stop() }
            let seen = try await detecting.subscribe().set(
                ["10.0.0.1:80", "10.0.0.2:80"], within: .seconds(10))
            #expect(seen[0].zone == "eu-1" && seen[0].id == "10.0.0.1:80")
            #expect(log.all.filter { $0.hasPrefix("warning skipping keys that fit no layout") }.count == 1)
            #expect(
                log.all.filter { $0.hasPrefix("debug skipping one of the keys that fit no layout") }.count
                    == 1)
            // Read once without a watch: the same set, the same rules.
            let once = try await EtcdInstancer.resolve(client: shared, prefix: "web/")
            #expect(once == seen)
            let onceGRPC = try await EtcdInstancer.resolve(client: shared, prefix: "web/", layout: .grpc)
            #expect(onceGRPC.map(\.address) == ["10.0.0.1:80"])

            let grpc = EtcdInstancer(client: shared, prefix: "web/", layout: .grpc)
            defer { grpc.stop() }
            let subscription = grpc.subscribe()
            try await subscription.set(["10.0.0.1:80"], within: .seconds(10))

            // Registering without a layout beside gRPC naming keys: the manager's JSON, the
            // address as the key, under a lease.
            let registrar = try EtcdRegistrar(
                client: shared, prefix: "web/",
                instance: Instance(address: "10.0.0.3:80", metadata: ["version": "3"], zone: "eu-3"),
                layout: nil,
                ttl: .seconds(5))
            try await registrar.register()
            #expect(registrar.layout == .grpc && registrar.key == "web/10.0.0.3:80")
            try await subscription.set(["10.0.0.1:80", "10.0.0.3:80"], within: .seconds(10))
            let written = try await servers.etcdctl(["get", "web/10.0.0.3:80", "--print-value-only"])
            #expect(
                written.trimmingCharacters(in: .whitespacesAndNewlines)
                    == #"{"Op":0,"Addr":"10.0.0.3:80","Metadata":{"version":"3","zone":"eu-3"}}"#)
            let lease = try #require(registrar.lease)
            #expect(
                try await servers.etcdctl(["lease", "timetolive", String(lease, radix: 16), "--keys"])
                    .contains("web/10.0.0.3:80"))
            try await registrar.deregister()
            try await subscription.set(["10.0.0.1:80"], within: .seconds(10))

            // An empty prefix registers in go-kit's layout.
            let empty = try EtcdRegistrar(
                client: shared, prefix: "/empty/", instance: Instance(address: "10.0.0.4:80"), layout: nil)
            try await empty.register()
            #expect(empty.layout == .gokit)
            #expect(
                try await servers.etcdctl(["get", empty.key, "--print-value-only"]).contains("10.0.0.4:80"))
            try await empty.deregister()
        }
    }
}
