import Foundation
import TestSupport
import Testing

/// sdctl's features over the layouts other libraries write (Curator's on ZooKeeper, etcd's gRPC
/// naming), with the instances registered by those libraries themselves: the weights and zones
/// they keep in their metadata maps reach the balancers, probes reach their addresses, `--exec`
/// handlers and the live view see them, and `bench propagation` registers in the layout.
@Suite("sdctl's features in Curator's and etcd's gRPC naming layouts", .serialized)
struct LayoutFeaturesEndToEndTests {
    /// Six instances on loopback, as another library registers them: the first (weight 3, zone
    /// eu-1) on a port that answers, the others (weight 1) on ports that do not, two in eu-2, two
    /// in eu-3 and one more in eu-1. Six: the fewest with which the zone balancer heeds zones.
    struct Six {
        let listener: TCPListener
        let addresses: [String]
        let zones = ["eu-1", "eu-2", "eu-2", "eu-3", "eu-3", "eu-1"]

        init() throws {
            let ports = try FreePorts.take(6)
            listener = try TCPListener(port: ports[0])
            addresses = ports.map { "127.0.0.1:\($0)" }
        }

        func port(_ index: Int) -> Int { Int(addresses[index].split(separator: ":")[1])! }

        /// The entries its library keeps: a weight and a zone.
        func metadata(_ index: Int) -> [String: String] {
            ["weight": index == 0 ? "3" : "1", "zone": zones[index]]
        }
    }

    @Test("Curator's layout: --pick, --probe, --exec and bench propagation, with Curator's registrations")
    func curator() async throws {
        try await ZooKeeperServers.with { servers in
            let six = try Six()
            defer { six.listener.close() }
            // The first on its own (it leaves), the other five from one JVM.
            let peers = [
                try await CuratorPeer.register(
                    servers.connectString, basePath: "/services", name: "web", id: "id-0",
                    address: "127.0.0.1",
                    port: six.port(0), metadata: six.metadata(0)),
                try await CuratorPeer.registerSeveral(
                    servers.connectString, basePath: "/services", name: "web",
                    (1..<6).map {
                        .init(
                            id: "id-\($0)", address: "127.0.0.1", port: six.port($0),
                            metadata: six.metadata($0))
                    }),
            ]
            let first = peers[0]
            try await exercise("zk://\(servers.connectString)/services/web", six) {
                try first.send("unregister")
                try await first.line(within: .seconds(20)) { $0 == "unregistered" }
            }

            // bench propagation registers in Curator's layout: a watch that detects layouts reads
            // its instances as Curator's JSON (Curator's own cache misses most of them: each is
            // gone within milliseconds, before the cache reads its data).
            let bench = "zk://\(servers.connectString)/services/bench"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", bench, "-o", "json"], environment: ["NO_COLOR": "1"])
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            let run = try await runSDCTL(
                ["bench", "propagation", bench + "?layout=curator", "--rounds", "5", "-o", "json"],
                environment: ["NO_COLOR": "1"], timeout: .seconds(60))
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.lines.first?.hasPrefix(#"{"register":{"p50_ms":"#) == true)
            try await watcher.line(within: .seconds(20)) {
                $0.contains(#""id":"bench-"#) && $0.contains(#""curator.serviceType":"DYNAMIC""#)
            }
            watcher.signal(SIGTERM)
            for peer in peers { try peer.closeStdin() }
        }
    }

    @Test("etcd's gRPC naming layout: --pick, --probe, --exec and bench propagation, with Go's registrations")
    func grpcNaming() async throws {
        try await EtcdServers.with { servers in
            let endpoint = servers.members[0].endpoint
            let six = try Six()
            defer { six.listener.close() }
            var peers: [RunningProcess] = []
            for index in 0..<6 {
                let peer = try await EtcdNamingPeer.start(
                    "add", endpoint: endpoint, target: "web",
                    [six.addresses[index]]
                        + six.metadata(index).sorted { $0.key < $1.key }.map { "\($0)=\($1)" })
                try await peer.line(within: .seconds(60)) { $0 == "added" }
                peers.append(peer)
            }
            let first = peers[0]
            try await exercise("etcd://\(endpoint)/web?layout=grpc", six) {
                try first.send("delete")
                try await first.line(within: .seconds(20)) { $0 == "deleted" }
            }

            // bench propagation registers in the gRPC naming layout: Go's watch sees its endpoints.
            let goWatch = try await EtcdNamingPeer.start("watch", endpoint: endpoint, target: "bench")
            try await goWatch.line(within: .seconds(60)) { $0 == "[]" }
            let bench = try await runSDCTL(
                [
                    "bench", "propagation", "etcd://\(endpoint)/bench?layout=grpc", "--rounds", "5", "-o",
                    "json",
                ],
                environment: ["NO_COLOR": "1"], timeout: .seconds(60))
            #expect(bench.status == 0, "\(bench.stderr)")
            try await goWatch.line(within: .seconds(20)) { line in
                (try? EtcdNamingPeer.decode(line))?.contains {
                    $0.key.hasPrefix("bench/bench-") && $0.addr.hasPrefix("127.0.0.1:")
                } ?? false
            }
            try goWatch.closeStdin()
            for peer in peers { try peer.closeStdin() }
        }
    }

    @Test("the live view shows Curator's instances with their zones, and a leave")
    func liveView() async throws {
        try await ZooKeeperServers.with { servers in
            let peers = [
                try await CuratorPeer.register(
                    servers.connectString, basePath: "/services", name: "web", id: "a", address: "10.0.0.1",
                    port: 8080, metadata: ["zone": "eu-1"]),
                try await CuratorPeer.register(
                    servers.connectString, basePath: "/services", name: "web", id: "b", address: "10.0.0.2",
                    port: 8080, metadata: ["zone": "eu-2"]),
            ]
            let home = TemporaryDirectory("sdctl-layout-live")
            defer { home.remove() }
            let command =
                "NO_COLOR=1 \(RunningProcess.sdctl) watch zk://\(servers.connectString)/services/web; "
                + "echo exit=$? > \(home.path)/status; sleep 60"
            try await TmuxSession.with(command: command) { terminal in
                let table = try await terminal.waitForScreen("the table") {
                    $0.contains("10.0.0.1:8080") && $0.contains("zone=eu-1")
                }
                #expect(table[0].contains("2 instances"), "\(table)")
                #expect(
                    table.contains { $0.contains("10.0.0.2:8080") && $0.contains("zone=eu-2") }, "\(table)")
                try peers[1].send("unregister")
                try await terminal.waitForScreen("the leave") {
                    $0.hasPrefix("- 10.0.0.2:8080") && $0.contains("left")
                }
                try await terminal.sendKeys("q")
                try await eventually(.seconds(10), "sdctl watch to exit") {
                    FileManager.default.fileExists(atPath: home.path + "/status")
                }
                #expect(try String(contentsOfFile: home.path + "/status", encoding: .utf8) == "exit=0\n")
            }
            for peer in peers { try peer.closeStdin() }
        }
    }

    /// What every layout must do with `six`: weights and zones reach the balancers, probes reach
    /// the addresses, `--exec` runs with the set and again after `removeFirst`.
    private func exercise(
        _ target: String, _ six: Six, removeFirst: @Sendable () async throws -> Void
    ) async throws {
        let env = ["NO_COLOR": "1"]
        let weighted = try await runSDCTL(
            ["resolve", target, "--pick", "weighted-round-robin", "-n", "8"], environment: env)
        #expect(weighted.status == 0, "\(weighted.stderr)")
        #expect(
            weighted.lines.filter { $0 == six.addresses[0] }.count == 3, "weight 3 of 8: \(weighted.lines)")
        // eu-2 holds a third of the instances and (by default) a third of the callers: every pick
        // stays in it.
        let zoned = try await runSDCTL(
            ["resolve", target, "--pick", "zone", "--zone", "eu-2", "-n", "20"], environment: env)
        #expect(
            zoned.lines.count == 20 && Set(zoned.lines) == [six.addresses[1], six.addresses[2]], "\(zoned)")

        let probed = try await runSDCTL(["resolve", target, "--probe", "tcp"], environment: env)
        #expect(probed.status == 0, "\(probed.stderr)")
        #expect(probed.lines.count == 6, "\(probed.lines)")
        #expect(probed.lines.contains { $0.hasPrefix(six.addresses[0] + " ") && $0.contains(" reachable ") })
        #expect(
            probed.lines.contains { $0.hasPrefix(six.addresses[1] + " ") && $0.contains(" unreachable ") })

        let home = TemporaryDirectory("sdctl-layout-exec")
        defer { home.remove() }
        let handler = #"cat > "$1/run-$SDCTL_RUN.json"; echo "$SDCTL_INSTANCES" > "$1/run-$SDCTL_RUN.count""#
        let watcher = try RunningProcess(
            RunningProcess.sdctl, ["watch", target, "--exec", "sh -c '\(handler)' sh \(home.path)"],
            environment: env)
        try await eventually(.seconds(20), "the first run") {
            (try? String(contentsOfFile: home.path + "/run-1.count", encoding: .utf8)) == "6\n"
        }
        let first = try String(contentsOfFile: home.path + "/run-1.json", encoding: .utf8)
        #expect(first.contains(#""weight":3,"zone":"eu-1""#), "\(first)")
        try await removeFirst()
        try await eventually(.seconds(20), "a run after the leave") {
            (try? String(contentsOfFile: home.path + "/run-2.count", encoding: .utf8)) == "5\n"
        }
        watcher.signal(SIGTERM)
        _ = try await watcher.wait()
    }
}
