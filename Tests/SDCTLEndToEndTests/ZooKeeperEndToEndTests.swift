import Foundation
import Synchronization
import TestSupport
import Testing

/// `sdctl` against real ZooKeeper servers started by the tests.
@Suite("sdctl end to end, on ZooKeeper", .serialized)
struct ZooKeeperEndToEndTests {
    let env = ["NO_COLOR": "1"]

    @Test("interop: zkCli.sh nodes are seen by sdctl watch; sdctl register nodes are listed by zkCli.sh")
    func interop() async throws {
        try await ZooKeeperServers.with { servers in
            let target = "zk://\(servers.connectString)/services/web"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            // go-kit's layout: a sequential child whose data is the address.
            let created = try await servers.zkCli(["create", "-s", "/services/web/gokit-", "10.0.0.9:80"])
            #expect(created.contains("Created /services/web/gokit-"))
            try await watcher.line(within: .seconds(10)) {
                $0.contains(#""added":[{"address":"10.0.0.9:80","id":"gokit-"#)
            }

            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "--id", "web-a"],
                environment: env)
            let id = try await registrar.line(within: .seconds(20)) { $0.hasPrefix("_c_") }
            #expect(id.contains("-web-a"))
            let listing = try await servers.zkCli(["ls", "/services/web"])
            #expect(listing.contains(id))
            let data = try await servers.zkCli(["get", "/services/web/\(id)"])
            #expect(data.contains("127.0.0.1:8080"))
            try await watcher.line { $0.contains(#""added":[{"address":"127.0.0.1:8080""#) }

            let resolved = try await runSDCTL(["resolve", target], environment: env)
            #expect(resolved.status == 0)
            #expect(resolved.lines == ["10.0.0.9:80", "127.0.0.1:8080"])

            let removed = try await runSDCTL(["deregister", target, "10.0.0.9:80"], environment: env)
            #expect(removed.status == 0)
            #expect(removed.lines.first?.hasPrefix("gokit-") == true)
            try await watcher.line { $0.contains(#""removed":[{"address":"10.0.0.9:80""#) }
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.1:8080""#) }
            watcher.signal(SIGTERM)
        }
    }

    @Test("register -- CMD and bench propagation work over zk://")
    func wrapAndBench() async throws {
        try await ZooKeeperServers.with { servers in
            let target = "zk://\(servers.connectString)/services/api"
            let script = "sdctl resolve '\(target)' --wait-for 1 --timeout 10s; exit 4"
            let wrapped = try await runSDCTL(
                ["register", target, "127.0.0.1:9000", "--", "sh", "-c", script], environment: env)
            #expect(wrapped.status == 4)
            #expect(wrapped.lines.contains("127.0.0.1:9000"))
            #expect(try await runSDCTL(["resolve", target], environment: env).status == 3)
            // The default 10 s bound: "no initial set within 10s" here was a lost connect event
            // (see concurrentBenches), not a slow server.
            let bench = try await runSDCTL(
                ["bench", "propagation", target, "--rounds", "20", "-o", "json"], environment: env,
                timeout: .seconds(60))
            #expect(bench.status == 0, "\(bench.stderr)")
            #expect(bench.lines.first?.hasPrefix(#"{"register":{"p50_ms":"#) == true)
        }
    }

    @Test("six bench propagation runs at once all get their first set (a connect could be lost under load)")
    func concurrentBenches() async throws {
        try await ZooKeeperServers.with { servers in
            // Before the fix about one run in twenty failed with "the watcher saw no initial set"
            // when the machine was busy: the C client reported the connect before the handle was
            // installed, and it was dropped. Both cores are kept busy here.
            let busy = Atomic<Bool>(true)
            for _ in 0..<2 { Thread { while busy.load(ordering: .relaxed) {} }.start() }
            defer { busy.store(false, ordering: .relaxed) }
            for round in 0..<4 {
                let runs = try (0..<6).map { index in
                    try RunningProcess(
                        RunningProcess.sdctl,
                        [
                            "bench", "propagation", "zk://\(servers.connectString)/services/b\(index)",
                            "--rounds", "10",
                            "-o", "json",
                        ], environment: env)
                }
                for (index, run) in runs.enumerated() {
                    #expect(
                        try await run.wait(timeout: .seconds(60)) == 0,
                        "round \(round), run \(index): \(run.stderr)")
                }
            }
        }
    }

    @Test("the server lost and rebuilt empty: watch prints the outage, register puts itself back and says so")
    func serverRebuilt() async throws {
        try await ZooKeeperServers.with { servers in
            let target = "zk://\(servers.connectString)/services/web"
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "--id", "web-a", "--ttl", "2s"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0.hasPrefix("_c_") }
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) {
                $0.contains(#""instances":[{"address":"127.0.0.1:8080""#)
            }

            servers.stop(member: 1)
            try await watcher.line(within: .seconds(5)) {
                $0.contains(#""error":"zookeeper: lost the connection to ZooKeeper"#)
            }
            try await servers.restart(member: 1, wipingData: true)
            try await eventually(.seconds(20), "the restoration on stderr") {
                registrar.stderr.contains("restored")
            }
            #expect(registrar.stderr.split(separator: "\n").count == 1, "\(registrar.stderr)")
            #expect(registrar.stderr.hasPrefix("sdctl: zookeeper: session lost; registration restored"))
            // The watcher's own session went with the old server too; it comes back to the set.
            let resolved = try await runSDCTL(
                ["resolve", target, "--wait-for", "1", "--timeout", "20s"], environment: env)
            #expect(resolved.lines == ["127.0.0.1:8080"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            watcher.signal(SIGTERM)
        }
    }

    @Test("an unreachable ensemble gives exit 69 within --timeout")
    func unreachable() async throws {
        let ports = try FreePorts.take(2)
        let started = ContinuousClock.now
        let result = try await runSDCTL(
            ["resolve", "zk://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])/services/web", "--timeout", "3s"],
            environment: env)
        #expect(result.status == 69)
        // The connect grace follows --timeout (most of it), not a fixed second.
        #expect(ContinuousClock.now - started >= .seconds(2))
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("cannot reach ZooKeeper"))
        #expect(result.stderr.contains("within 2.4 seconds"))
    }

    @Test("a registration held by sdctl register survives losing the member it is connected to")
    func registrationSurvivesFailover() async throws {
        try await ZooKeeperServers.with(count: 3) { servers in
            let target = "zk://\(servers.connectString)/services/web"
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "--ttl", "6s"], environment: env)
            let id = try await registrar.line(within: .seconds(30)) { $0.hasPrefix("_c_") }
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) {
                $0.contains(#""instances":[{"address":"127.0.0.1:8080""#)
            }

            let session = try #require(servers.session(owning: "/services/web/\(id)"))
            let serving = try #require(servers.member(servingSession: session))
            servers.stop(member: serving)
            // The registrar's client moves to another member within its session timeout.
            try await eventually(.seconds(30), "the registrar's session on another member") {
                servers.member(servingSession: session).map { $0 != serving } ?? false
            }
            let resolved = try await runSDCTL(["resolve", target, "--timeout", "10s"], environment: env)
            #expect(resolved.lines == ["127.0.0.1:8080"])
            #expect(!watcher.lines.contains { $0.contains(#""removed":[{"address":"127.0.0.1:8080""#) })
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await watcher.line(within: .seconds(20)) {
                $0.contains(#""removed":[{"address":"127.0.0.1:8080""#)
            }
            watcher.signal(SIGTERM)
        }
    }

    @Test(
        "register --ready and --drain on ZooKeeper: lapse, recovery with a new session, drain before the child stops"
    )
    func readyAndDrain() async throws {
        try await ZooKeeperServers.with { servers in
            let target = "zk://\(servers.connectString)/services/web"
            var listener = try TCPListener(port: FreePorts.take(1)[0])
            let port = listener.port
            let home = TemporaryDirectory("sdctl-zk-ready")
            defer { home.remove() }
            let script = "trap 'exit 0' TERM; while :; do sleep 0.05 & wait; done"
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "register", target, "127.0.0.1:\(port)", "--ready", "tcp://127.0.0.1:\(port)",
                    "--probe-interval",
                    "100ms", "--ready-failures", "2", "--drain", "500ms", "--", "sh", "-c", script,
                ], environment: env)
            try await registrar.line(within: .seconds(20)) { $0.hasPrefix("_c_") }
            #expect(try await runSDCTL(["resolve", target], environment: env).lines == ["127.0.0.1:\(port)"])
            listener.close()
            try await eventually(.seconds(10), "the lapse") { registrar.stderr.contains("deregistering _c_") }
            #expect(try await runSDCTL(["resolve", target], environment: env).status == 3)
            listener = try TCPListener(port: port)
            defer { listener.close() }
            try await eventually(.seconds(20), "the recovery") {
                registrar.stderr.contains("passes again; registered _c_")
            }
            #expect(try await runSDCTL(["resolve", target], environment: env).lines == ["127.0.0.1:\(port)"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0, "\(registrar.stderr)")
            #expect(registrar.stderr.contains("deregistered; stopping in 500ms"))
            #expect(try await runSDCTL(["resolve", target], environment: env).status == 3)
        }
    }
}
