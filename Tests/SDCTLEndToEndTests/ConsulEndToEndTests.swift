import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// `sdctl` on `consul://` targets against the Consul emulator, and py-consul on the other side.
@Suite("sdctl end to end, on Consul", .serialized)
struct ConsulEndToEndTests {
    let env = ["NO_COLOR": "1", "SDCTL_HOME": "/nonexistent"]

    /// py-consul: registers `web-py` (TTL check passed at once), or deregisters it, or prints the
    /// passing instances of `web` as "id address:port" lines.
    static let pyConsul = """
        import sys, consul
        host, port, action = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        token = sys.argv[4] if len(sys.argv) > 4 else None
        client = consul.Consul(host=host, port=port, token=token)
        if action == "register":
            assert client.agent.service.register("web", service_id="web-py", address="127.0.0.2", port=9000,
                                                 tags=["prod"], check=consul.Check.ttl("30s"))
            assert client.agent.check.ttl_pass("service:web-py")
        elif action == "deregister":
            assert client.agent.service.deregister("web-py")
        else:
            index, nodes = client.health.service("web", passing=True)
            for node in nodes:
                print(node["Service"]["ID"], "%s:%d" % (node["Service"]["Address"], node["Service"]["Port"]))
        """

    @Test("py-consul's registration is seen by sdctl watch; sdctl register's by py-consul's health query")
    func interop() async throws {
        try await ConsulEmulator.with { emulator in
            let target = "consul://\(emulator.address)/web"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            let port = String(emulator.port)
            try await PythonClients.run(Self.pyConsul, arguments: ["127.0.0.1", port, "register"])
            try await watcher.line { $0.contains(#""added":[{"address":"127.0.0.2:9000","id":"web-py""#) }

            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                ["register", target, "127.0.0.1:8080", "--tag", "prod", "--meta", "version=2"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "web-127.0.0.1-8080" }
            let seen = try await PythonClients.run(
                Self.pyConsul, arguments: ["127.0.0.1", port, "list"])
            #expect(
                seen.split(separator: "\n").sorted() == [
                    "web-127.0.0.1-8080 127.0.0.1:8080", "web-py 127.0.0.2:9000",
                ])
            let resolved = try await runSDCTL(
                ["resolve", target + "?tag=prod", "-o", "json"], environment: env)
            #expect(resolved.status == 0)
            #expect(resolved.lines.joined().contains(#""version":"2""#), "\(resolved.lines)")

            try await PythonClients.run(Self.pyConsul, arguments: ["127.0.0.1", port, "deregister"])
            try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.2:9000""#) }
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.1:8080""#) }
            let left = try await PythonClients.run(
                Self.pyConsul, arguments: ["127.0.0.1", port, "list"])
            #expect(left.isEmpty)
            watcher.signal(SIGTERM)
        }
    }

    @Test("tags AND and passing-only from the URL; deregister by address; CONSUL_HTTP_ADDR for consul:///")
    func urlParameters() async throws {
        try await ConsulEmulator.with { emulator in
            for (id, body) in [
                (
                    "a",
                    #"{"Name":"web","ID":"a","Address":"127.0.0.1","Port":1,"Tags":["prod","eu"],"Check":{"TTL":"60s","Status":"passing"}}"#
                ),
                (
                    "b",
                    #"{"Name":"web","ID":"b","Address":"127.0.0.1","Port":2,"Tags":["prod"],"Check":{"TTL":"60s","Status":"passing"}}"#
                ),
                (
                    "c",
                    #"{"Name":"web","ID":"c","Address":"127.0.0.1","Port":3,"Tags":["prod"],"Check":{"TTL":"60s"}}"#
                ),
            ] {
                #expect(
                    try await emulator.request(.PUT, "/v1/agent/service/register", body: body).status == 200,
                    "\(id)")
            }
            let base = "consul://\(emulator.address)/web"
            #expect(
                try await runSDCTL(["resolve", base], environment: env).lines == [
                    "127.0.0.1:1", "127.0.0.1:2",
                ])
            #expect(
                try await runSDCTL(["resolve", base + "?tag=prod&tag=eu"], environment: env).lines == [
                    "127.0.0.1:1"
                ])
            #expect(
                try await runSDCTL(["resolve", base + "?passing=false"], environment: env).lines
                    == ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"])
            // SDCTL_MAX_INSTANCES: an answer of three entries is past a limit of two.
            let limited = try await runSDCTL(
                ["resolve", base + "?passing=false"],
                environment: env.merging(["SDCTL_MAX_INSTANCES": "2"]) { $1 })
            #expect(limited.status == 1)
            #expect(
                limited.stderr
                    == "sdctl: consul: health of 'web': more than 2 instances in one answer (SDCTL_MAX_INSTANCES raises the limit)\n"
            )
            #expect(
                try await runSDCTL(
                    ["resolve", base + "?passing=false"],
                    environment: env.merging(["SDCTL_MAX_INSTANCES": "3"]) { $1 }
                ).lines.count == 3)
            for bad in ["0", "-1", "many", "1e5"] {
                let refused = try await runSDCTL(
                    ["resolve", base], environment: env.merging(["SDCTL_MAX_INSTANCES": bad]) { $1 })
                #expect(refused.status == 2, "\(bad)")
                #expect(
                    refused.stderr.hasPrefix("sdctl: SDCTL_MAX_INSTANCES must be a whole number"),
                    "\(refused.stderr)")
            }
            let viaEnvironment = try await runSDCTL(
                ["resolve", "consul:///web"],
                environment: env.merging(["CONSUL_HTTP_ADDR": emulator.address]) { $1 })
            #expect(viaEnvironment.lines == ["127.0.0.1:1", "127.0.0.1:2"])
            let removed = try await runSDCTL(["deregister", base, "127.0.0.1:2"], environment: env)
            #expect(removed.status == 0 && removed.lines == ["b"])
            #expect(try await runSDCTL(["resolve", base], environment: env).lines == ["127.0.0.1:1"])
            let none = try await runSDCTL(
                ["resolve", "consul://\(emulator.address)/nothing"], environment: env)
            #expect(none.status == 3)
        }
    }

    @Test("403 is exit 77 with one line, and the token is never printed, even with -v")
    func permissionDenied() async throws {
        try await ConsulEmulator.with(.init(aclToken: "s3cret-root")) { emulator in
            let target = "consul://\(emulator.address)/web"
            let refused = try await runSDCTL(["register", target, "127.0.0.1:8080"], environment: env)
            #expect(refused.status == 77, "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1)
            #expect(refused.stderr.contains("lacks permission"), "\(refused.stderr)")
            let wrong = try await runSDCTL(
                ["resolve", target, "-v"],
                environment: env.merging(["CONSUL_HTTP_TOKEN": "wrong-t0ken"]) { $1 })
            #expect(wrong.status == 77, "\(wrong.stderr)")
            #expect(wrong.stderr.contains("ACL not found"))
            #expect(!wrong.stderr.contains("wrong-t0ken"))

            let directory = TemporaryDirectory("sdctl-consul-token")
            defer { directory.remove() }
            try "s3cret-root\n".write(toFile: "\(directory.path)/token", atomically: true, encoding: .utf8)
            let allowed = env.merging(["CONSUL_HTTP_TOKEN_FILE": "\(directory.path)/token"]) { $1 }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "-v"], environment: allowed)
            try await registrar.line(within: .seconds(20)) { $0 == "web-127.0.0.1-8080" }
            #expect(
                try await runSDCTL(["resolve", target], environment: allowed).lines == ["127.0.0.1:8080"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            #expect(!registrar.stderr.contains("s3cret"), "\(registrar.stderr)")
        }
    }

    @Test("an unreachable agent is exit 69 with one line; bad CONSUL_* values are exit 2")
    func unreachable() async throws {
        let port = try FreePorts.take(1)[0]
        let result = try await runSDCTL(["resolve", "consul://127.0.0.1:\(port)/web"], environment: env)
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(
            result.stderr.contains("agent http://127.0.0.1:\(port): Connection refused"),
            "\(result.stderr)")
        for (name, value) in [
            ("CONSUL_HTTP_ADDR", "ftp://x"), ("CONSUL_HTTP_SSL_VERIFY", "perhaps"),
            ("CONSUL_HTTP_TOKEN_FILE", "/nonexistent/token"), ("CONSUL_CACERT", "/nonexistent/ca.pem"),
        ] {
            let bad = try await runSDCTL(
                ["resolve", name == "CONSUL_CACERT" ? "consuls://127.0.0.1:\(port)/web" : "consul:///web"],
                environment: env.merging([name: value]) { $1 })
            #expect(bad.status == 2, "\(name): \(bad.stderr)")
            #expect(
                bad.stderr.contains(name) && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        }
    }

    @Test("an agent that forgets the registration (restart) gets it back, and stderr says so once")
    func agentRestart() async throws {
        try await ConsulEmulator.with { emulator in
            let target = "consul://\(emulator.address)/web"
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8081", "--ttl", "1s"], environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "web-127.0.0.1-8081" }
            try await emulator.restart()
            try await eventually(.seconds(10), "the re-registration on stderr") {
                registrar.stderr.contains("registered again")
            }
            let lines = registrar.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(lines)")
            #expect(try await runSDCTL(["resolve", target], environment: env).lines == ["127.0.0.1:8081"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("consuls:// with a CA the test makes")
    func tls() async throws {
        let directory = TemporaryDirectory("sdctl-consul-e2e-tls")
        defer { directory.remove() }
        let certificates = try await TestCertificates.make(in: directory.path)
        let options = ConsulEmulator.Options(
            tls: .init(certificate: certificates.serverCertificate, key: certificates.serverKey))
        try await ConsulEmulator.with(options) { emulator in
            let target = "consuls://\(emulator.address)/web"
            let trusting = env.merging(["CONSUL_CACERT": certificates.caFile]) { $1 }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8443"], environment: trusting)
            try await registrar.line(within: .seconds(20)) { $0 == "web-127.0.0.1-8443" }
            #expect(
                try await runSDCTL(["resolve", target], environment: trusting).lines == ["127.0.0.1:8443"])
            let distrusting = try await runSDCTL(
                ["resolve", target],
                environment: env.merging(["CONSUL_CACERT": certificates.otherCAFile]) { $1 })
            #expect(distrusting.status == 69, "\(distrusting.stderr)")
            #expect(distrusting.stderr.contains("TLS"), "\(distrusting.stderr)")
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("bench propagation runs through the emulator and prints its table")
    func benchPropagation() async throws {
        try await ConsulEmulator.with { emulator in
            let result = try await runSDCTL(
                [
                    "bench", "propagation", "consul://\(emulator.address)/bench-web", "--rounds", "20", "-o",
                    "json",
                ],
                environment: env, timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.joined().contains(#""register":{"p50_ms":"#), "\(result.lines)")
        }
    }
}
