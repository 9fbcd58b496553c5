import Foundation
import TestSupport
import Testing

/// sdctl and etcd's own gRPC naming (the endpoints manager grpc-go's etcd resolver reads), from
/// Debian's etcd sources, on one real etcd member, in both directions.
@Suite("sdctl and etcd's gRPC naming endpoints manager", .serialized)
struct EtcdNamingInteropTests {
    let env = ["NO_COLOR": "1"]

    @Test(
        "the Go manager adds and deletes endpoints: sdctl sees them; sdctl registers: the Go manager's List and watch see it, and see it go"
    )
    func bothWays() async throws {
        try await EtcdServers.with { servers in
            let endpoint = servers.members[0].endpoint
            let target = "etcd://\(endpoint)/my-service?layout=grpc"
            let added = try await EtcdNamingPeer.start(
                "add", endpoint: endpoint, target: "my-service", ["10.0.0.1:80", "zone=eu-1", "version=2"])
            try await added.line(within: .seconds(60)) { $0 == "added" }
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) {
                $0.contains(#""address":"10.0.0.1:80""#) && $0.contains(#""zone":"eu-1""#)
            }
            // Without layout= each value is read in its own layout: a manager whose target
            // starts with '/' is a key prefix as go-kit's are.
            let slashed = try await EtcdNamingPeer.start(
                "add", endpoint: endpoint, target: "/grpc/web", ["10.0.0.2:80"])
            try await slashed.line(within: .seconds(60)) { $0 == "added" }
            let detected = try await runSDCTL(["resolve", "etcd://\(endpoint)/grpc/web/"], environment: env)
            #expect(detected.status == 0 && detected.lines == ["10.0.0.2:80"], "\(detected)")
            try slashed.closeStdin()
            try added.send("delete")
            try await added.line(within: .seconds(20)) { $0 == "deleted" }
            try await watcher.line(within: .seconds(10)) {
                $0.contains(#""removed":[{"address":"10.0.0.1:80""#)
            }

            let goWatch = try await EtcdNamingPeer.start("watch", endpoint: endpoint, target: "my-service")
            try await goWatch.line(within: .seconds(60)) { $0 == "[]" }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "10.0.0.3:9090", "--meta", "version=3"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "10.0.0.3:9090" }
            let seen = try await goWatch.line(within: .seconds(20)) {
                $0.contains(#""addr":"10.0.0.3:9090""#)
            }
            let entry = try #require(try EtcdNamingPeer.decode(seen).first)
            #expect(entry.key == "my-service/10.0.0.3:9090" && entry.metadata == ["version": "3"])
            let list = try await EtcdNamingPeer.start("list", endpoint: endpoint, target: "my-service")
            #expect(try await list.wait() == 0)
            #expect(try list.lines.first.map(EtcdNamingPeer.decode)?.map(\.addr) == ["10.0.0.3:9090"])
            let before = goWatch.lines.count
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await eventually(.seconds(10), "the Go watch to see it go") {
                goWatch.lines.dropFirst(before).contains("[]")
            }
            watcher.signal(SIGTERM)
            try goWatch.closeStdin()
            try added.closeStdin()
        }
    }
}
