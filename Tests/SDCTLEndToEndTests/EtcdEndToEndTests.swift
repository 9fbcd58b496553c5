import Foundation
import TestSupport
import Testing

/// `sdctl` against a real etcd member started by the tests.
@Suite("sdctl end to end, on etcd", .serialized)
struct EtcdEndToEndTests {
    let env = ["NO_COLOR": "1"]

    @Test("etcdctl puts are seen by sdctl watch; sdctl register keys are listed by etcdctl")
    func interop() async throws {
        try await EtcdServers.with { servers in
            let target = "etcd://\(servers.endpoints)/services/web/"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            try await servers.etcdctl(["put", "/services/web/x", "10.0.0.9:80"])
            try await watcher.line { $0.contains(#""added":[{"address":"10.0.0.9:80","id":"x""#) }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "--id", "web-a", "--ttl", "3s"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "web-a" }
            #expect(
                try await servers.etcdctl(["get", "--prefix", "/services/web/"]).contains(
                    "/services/web/web-a\n127.0.0.1:8080"))
            try await watcher.line { $0.contains(#""added":[{"address":"127.0.0.1:8080","id":"web-a""#) }
            let resolved = try await runSDCTL(["resolve", target], environment: env)
            #expect(resolved.lines == ["10.0.0.9:80", "127.0.0.1:8080"])
            #expect(
                try await runSDCTL(["deregister", target, "10.0.0.9:80"], environment: env).lines == ["x"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.1:8080""#) }
            watcher.signal(SIGTERM)
        }
    }

    @Test("a registration whose lease is revoked behind its back is restored, and stderr says so once")
    func restorationIsShown() async throws {
        try await EtcdServers.with { servers in
            let target = "etcd://\(servers.endpoints)/services/web/"
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8081", "--id", "web-r", "--ttl", "3s"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "web-r" }
            #expect(registrar.stderr.isEmpty)
            let leases = try await servers.etcdctl(["lease", "list"])
            let lease = try #require(leases.split(separator: "\n").last { !$0.contains("found") })
            try await servers.etcdctl([
                "lease", "revoke", lease.trimmingCharacters(in: .whitespacesAndNewlines),
            ])
            try await eventually(.seconds(10), "the restoration on stderr") {
                registrar.stderr.contains("restored")
            }
            let lines = registrar.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.hasPrefix("sdctl: etcd: lease lost; registration restored") == true)
            #expect(
                try await servers.etcdctl(["get", "/services/web/web-r", "--print-value-only"]).contains(
                    "127.0.0.1:8081"))
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("register -- CMD and bench propagation work over etcd://; ETCDCTL_ENDPOINTS fills in the host")
    func wrapBenchAndEnvironment() async throws {
        try await EtcdServers.with { servers in
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
    }

    @Test("unreachable endpoints give exit 69 with one line, within --timeout")
    func unreachable() async throws {
        let ports = try FreePorts.take(2)
        let target = "etcd://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])/x/"
        for command in [
            ["resolve", target], ["watch", target], ["register", target, "10.0.0.6:80"],
            ["deregister", target, "a"],
        ] {
            let started = ContinuousClock.now
            let result = try await runSDCTL(command + ["--timeout", "3s"], environment: env)
            #expect(result.status == 69, "\(command[0]): \(result.stderr)")
            #expect(ContinuousClock.now - started < .seconds(3))
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("Connection refused"), "\(lines)")
        }
        // -v keeps the error's cause, under the same first line.
        let verbose = try await runSDCTL(
            ["deregister", target, "a", "--timeout", "3s", "-v"], environment: env)
        let causes = verbose.stderr.split(separator: "\n").filter { $0.hasPrefix("sdctl:   caused by ") }
        #expect(verbose.status == 69)
        #expect(causes.contains { $0.contains("GRPCError: unavailable") }, "\(verbose.stderr)")
    }

    @Test("over TLS with a password from the environment; a wrong one is exit 77 for every command")
    func credentials() async throws {
        try await EtcdServers.with(tls: true) { servers in
            try await servers.enableAuthentication(password: "s3cret")
            let certificates = try #require(servers.certificates)
            var env = self.env
            env["ETCDCTL_CACERT"] = certificates.caFile
            env["ETCDCTL_CERT"] = certificates.clientCertificate
            env["ETCDCTL_KEY"] = certificates.clientKey
            env["ETCDCTL_USER"] = "root:s3cret"
            let target = "etcds://\(servers.endpoints)/services/web/"
            let registered = try await runSDCTL(
                ["register", target, "10.0.0.5:80", "--id", "web-5", "--", "true"], environment: env)
            #expect(registered.status == 0, "\(registered.stderr)")
            try await servers.etcdctl(["put", "/services/web/x", "10.0.0.9:80"])
            #expect(try await runSDCTL(["resolve", target], environment: env).lines == ["10.0.0.9:80"])

            env["ETCDCTL_USER"] = "root"
            env["ETCDCTL_PASSWORD"] = "wrong"
            for command in [
                ["resolve", target], ["watch", target], ["register", target, "10.0.0.6:80"],
                ["deregister", target, "x"],
            ] {
                let started = ContinuousClock.now
                let result = try await runSDCTL(command + ["--timeout", "5s"], environment: env)
                #expect(result.status == 77, "\(command[0]): \(result.stderr)")
                #expect(ContinuousClock.now - started < .seconds(5))
                #expect(
                    result.stderr.split(separator: "\n") == [
                        "sdctl: etcd: authenticate: etcdserver: authentication failed, invalid user ID or password"
                    ])
            }
            #expect(try await servers.etcdctl(["get", "--prefix", "/services/web/"]).contains("10.0.0.9:80"))
        }
    }

    @Test("a missing or unreadable CA: one line naming the cause; exit 69 and 2, within --timeout")
    func certificateAuthority() async throws {
        try await EtcdServers.with(tls: true) { servers in
            let certificates = try #require(servers.certificates)
            var env = self.env
            env["ETCDCTL_CERT"] = certificates.clientCertificate
            env["ETCDCTL_KEY"] = certificates.clientKey
            let target = "etcds://\(servers.endpoints)/services/web/"
            for command in [["resolve", target], ["watch", target], ["register", target, "10.0.0.6:80"]] {
                let started = ContinuousClock.now
                let result = try await runSDCTL(command + ["--timeout", "5s"], environment: env)
                #expect(result.status == 69, "\(command[0]): \(result.stderr)")
                #expect(ContinuousClock.now - started < .seconds(5))
                let lines = result.stderr.split(separator: "\n")
                #expect(
                    lines.count == 1 && lines[0].contains("TLS handshake failed: CERTIFICATE_VERIFY_FAILED"))
            }
            env["ETCDCTL_CACERT"] = "/nonexistent/ca.pem"
            let result = try await runSDCTL(["resolve", target], environment: env)
            #expect(result.status == 2)
            #expect(result.stderr == "sdctl: cannot read ETCDCTL_CACERT '/nonexistent/ca.pem'\n")
            // Plaintext to a TLS member: the hint says so.
            let plain = try await runSDCTL(
                ["resolve", "etcd://\(servers.endpoints)/x/"], environment: self.env)
            #expect(plain.status == 69)
            #expect(plain.stderr.contains("a TLS endpoint? use etcds://"))
        }
    }
}
