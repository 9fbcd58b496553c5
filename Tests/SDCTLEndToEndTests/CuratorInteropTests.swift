import Foundation
import TestSupport
import Testing

/// sdctl and Apache Curator's service discovery (Debian's libcurator-discovery-java, as Spring
/// Cloud Zookeeper uses it) on one real ZooKeeper server, in both directions.
@Suite("sdctl and Apache Curator, on ZooKeeper", .serialized)
struct CuratorInteropTests {
    let env = ["NO_COLOR": "1"]

    @Test(
        "Curator registers two instances with payloads: sdctl resolve and watch show them with their metadata"
    )
    func curatorToSDCTL() async throws {
        try await ZooKeeperServers.with { servers in
            let first = try await CuratorPeer.register(
                servers.connectString, basePath: "/services", name: "web", id: "id-1", address: "10.0.0.1",
                port: 8080,
                metadata: ["zone": "eu-1", "version": "2"])
            let second = try await CuratorPeer.register(
                servers.connectString, basePath: "/services", name: "web", id: "id-2", address: "10.0.0.2",
                port: 8080,
                metadata: ["zone": "eu-2"])
            let target = "zk://\(servers.connectString)/services/web"
            let resolved = try await runSDCTL(["resolve", target], environment: env)
            #expect(resolved.status == 0, "\(resolved.stderr)")
            #expect(resolved.lines == ["10.0.0.1:8080", "10.0.0.2:8080"])
            let json = try await runSDCTL(["resolve", target, "-o", "json"], environment: env)
            let text = json.lines.joined()
            #expect(text.contains(#""id":"id-1""#) && text.contains(#""zone":"eu-1""#), "\(text)")
            #expect(
                text.contains(#""version":"2""#) && text.contains(#""curator.serviceType":"DYNAMIC""#),
                "\(text)")

            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target + "?layout=curator", "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""address":"10.0.0.2:8080""#) }
            try first.send("unregister")
            try await first.line(within: .seconds(20)) { $0 == "unregistered" }
            try await watcher.line(within: .seconds(10)) {
                $0.contains(#""removed":[{"address":"10.0.0.1:8080""#)
            }
            try second.closeStdin()
            try await second.wait()
            try await watcher.line(within: .seconds(10)) {
                $0.contains(#""removed":[{"address":"10.0.0.2:8080""#)
            }
            watcher.signal(SIGTERM)
            try first.closeStdin()
        }
    }

    @Test(
        "sdctl registers in Curator's layout: Curator's queryForInstances and ServiceCache see it with its metadata, and see it leave on SIGTERM, and after the session timeout on SIGKILL"
    )
    func sdctlToCurator() async throws {
        try await ZooKeeperServers.with { servers in
            let cache = try await CuratorPeer.start("watch", [servers.connectString, "/services", "web"])
            try await cache.line(within: .seconds(60)) { $0 == "[]" }
            // An empty path: told the layout (without it, go-kit's).
            let target = "zk://\(servers.connectString)/services/web?layout=curator"
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "register", target, "10.0.0.3:9090", "--id", "web-3", "--meta", "version=3", "--meta",
                    "zone=eu-3",
                ],
                environment: env)
            #expect(try await registrar.line(within: .seconds(20)) { $0 == "web-3" } == "web-3")
            let seen = try await cache.line(within: .seconds(20)) { $0.contains(#""id":"web-3""#) }
            let instance = try #require(try CuratorPeer.decode(seen).first)
            #expect(instance.name == "web" && instance.address == "10.0.0.3" && instance.port == 9090)
            #expect(instance.serviceType == "DYNAMIC")
            #expect(instance.metadata == ["version": "3", "zone": "eu-3"])
            let query = try await CuratorPeer.start("query", [servers.connectString, "/services", "web"])
            #expect(try await query.wait() == 0)
            #expect(try query.lines.first.map(CuratorPeer.decode)?.map(\.id) == ["web-3"])

            let cacheLines = cache.lines.count
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await eventually(.seconds(10), "Curator's cache to see it leave") {
                cache.lines.dropFirst(cacheLines).contains("[]")
            }

            // Killed: the node goes with its session, after the 2 s session timeout.
            let killed = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "10.0.0.4:9090", "--id", "web-4", "--ttl", "2s"],
                environment: env)
            try await killed.line(within: .seconds(20)) { $0 == "web-4" }
            try await cache.line(within: .seconds(20)) { $0.contains(#""id":"web-4""#) }
            let linesBefore = cache.lines.count
            killed.signal(SIGKILL)
            let killedAt = ContinuousClock.now
            try await eventually(.seconds(30), "Curator's cache to see the killed registration go") {
                cache.lines.dropFirst(linesBefore).contains("[]")
            }
            #expect(ContinuousClock.now - killedAt > .seconds(1), "not before the session timed out")
            try cache.closeStdin()
        }
    }

    @Test("sdctl deregister removes a Curator registration by its id, or by its address")
    func deregisterCurator() async throws {
        try await ZooKeeperServers.with { servers in
            let peer = try await CuratorPeer.register(
                servers.connectString, basePath: "/services", name: "web", id: "id-1", address: "10.0.0.1",
                port: 8080)
            let other = try await CuratorPeer.register(
                servers.connectString, basePath: "/services", name: "web", id: "id-2", address: "10.0.0.2",
                port: 8080)
            let target = "zk://\(servers.connectString)/services/web"
            let byID = try await runSDCTL(["deregister", target, "id-1"], environment: env)
            #expect(byID.status == 0 && byID.lines == ["id-1"], "\(byID)")
            let byAddress = try await runSDCTL(["deregister", target, "10.0.0.2:8080"], environment: env)
            #expect(byAddress.status == 0 && byAddress.lines == ["id-2"], "\(byAddress)")
            #expect(try await runSDCTL(["resolve", target], environment: env).status == 3)
            try peer.closeStdin()
            try other.closeStdin()
        }
    }
}
