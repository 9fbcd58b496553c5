import Foundation
import TestSupport
import Testing

/// `sdctl` against a real etcd member started by the tests.
@Suite("sdctl end to end, on etcd", .serialized)
struct EtcdEndToEndTests {
    let env = ["NO_COLOR": "1"]

    @Test("etcdctl puts are seen by sdctl watch; sdctl register keys are listed by etcdctl")
    func interop() async throws {
        let servers = try await EtcdServers.start()
        defer { servers.stop() }
        let target = "etcd://\(servers.endpoints)/services/web/"
        let watcher = try RunningProcess(
            RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
        try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
        try servers.etcdctl(["put", "/services/web/x", "10.0.0.9:80"])
        try await watcher.line { $0.contains(#""added":[{"address":"10.0.0.9:80","id":"x""#) }
        let registrar = try RunningProcess(
            RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "--id", "web-a", "--ttl", "3s"],
            environment: env)
        try await registrar.line(within: .seconds(20)) { $0 == "web-a" }
        #expect(
            try servers.etcdctl(["get", "--prefix", "/services/web/"]).contains(
                "/services/web/web-a\n127.0.0.1:8080"))
        try await watcher.line { $0.contains(#""added":[{"address":"127.0.0.1:8080","id":"web-a""#) }
        let resolved = try await runSDCTL(["resolve", target], environment: env)
        #expect(resolved.lines == ["10.0.0.9:80", "127.0.0.1:8080"])
        #expect(try await runSDCTL(["deregister", target, "10.0.0.9:80"], environment: env).lines == ["x"])
        registrar.signal(SIGTERM)
        #expect(try await registrar.wait() == 0)
        try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.1:8080""#) }
        watcher.signal(SIGTERM)
    }

    @Test("register -- CMD and bench propagation work over etcd://; ETCDCTL_ENDPOINTS fills in the host")
    func wrapBenchAndEnvironment() async throws {
        let servers = try await EtcdServers.start()
        defer { servers.stop() }
        var env = self.env
        env["ETCDCTL_ENDPOINTS"] = "http://\(servers.endpoints)"
        let script = "sdctl resolve etcd:///services/api/ --wait-for 1 --timeout 10s; exit 5"
        let wrapped = try await runSDCTL(
            ["register", "etcd:///services/api/", "127.0.0.1:9000", "--", "sh", "-c", script],
            environment: env)
        #expect(wrapped.status == 5)
        #expect(wrapped.lines.contains("127.0.0.1:9000"))
        #expect(try await runSDCTL(["resolve", "etcd:///services/api/"], environment: env).status == 3)
        let bench = try await runSDCTL(
            ["bench", "propagation", "etcd:///bench/", "--rounds", "20", "-o", "json"], environment: env)
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.lines.first?.hasPrefix(#"{"register":{"p50_ms":"#) == true)
    }

    @Test("unreachable endpoints give exit 69 with one line, within --timeout")
    func unreachable() async throws {
        let port = try FreePorts.take(1)[0]
        let started = ContinuousClock.now
        let result = try await runSDCTL(
            ["resolve", "etcd://127.0.0.1:\(port)/x/", "--timeout", "3s"], environment: env)
        #expect(result.status == 69)
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
