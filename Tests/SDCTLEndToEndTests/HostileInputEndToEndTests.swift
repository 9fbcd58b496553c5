import Foundation
import TestSupport
import Testing

/// Issue #23 seen from a shell: weights that once made a pick spin, server text that reached
/// the terminal raw, passwords echoed, and exit 3 without its line.
@Suite("sdctl under hostile input, end to end")
struct HostileInputEndToEndTests {
    @Test("resolve --pick maglev and weighted-round-robin with a weight-0 instance end (they spun for ever)")
    func zeroWeightPick() async throws {
        try await withSDCTLHome("sdctl-zero-weight") { _, env in
            var registrars: [RunningProcess] = []
            defer { for registrar in registrars { registrar.signal(SIGKILL) } }
            for (port, weight) in [(9001, 1), (9002, 0)] {
                let registrar = try RunningProcess(
                    RunningProcess.sdctl,
                    ["register", "web", "127.0.0.1:\(port)", "--meta", "weight=\(weight)"],
                    environment: env)
                try await registrar.line { !$0.isEmpty }
                registrars.append(registrar)
            }
            for balancer in ["maglev", "weighted-round-robin"] {
                var arguments = ["resolve", "web", "--pick", balancer, "-n", "2", "--timeout", "2s"]
                if balancer == "maglev" { arguments += ["--key", "k"] }
                let result = try await runSDCTL(arguments, environment: env)
                #expect(result.status == 0, "\(balancer): \(result.stderr)")
                #expect(result.lines.allSatisfy { $0 == "127.0.0.1:9001" }, "\(balancer): \(result.lines)")
            }
        }
    }

    @Test(
        "a server's error text with escapes, C1 controls, a bidi override and 10 kB reaches stderr as one safe line"
    )
    func serverTextIsMadeSafe() async throws {
        let port = try FreePorts.take(1)[0]
        // Answers every request with a 500 whose body is hostile text.
        let script = #"""
            import socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
            body = ("\x1b[31mred\x07\x1b]52;c;aGk=\x07\u009b31m\u202e" + "A" * 10000).encode()
            while True:
                c, _ = s.accept(); c.recv(65536)
                c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: " + str(len(body)).encode()
                          + b"\r\nConnection: close\r\n\r\n" + body)
                c.close()
            """#
        let server = try RunningProcess("/usr/bin/python3", ["-c", script, "\(port)"], environment: [:])
        defer { server.signal(SIGKILL) }
        try await eventually(.seconds(10), "the hostile server to listen") {
            TCPConnections.canConnect(toPort: port)
        }
        try await withSDCTLHome("sdctl-hostile-text") { _, env in
            for target in ["eureka://127.0.0.1:\(port)/eureka/apps/WEB", "consul://127.0.0.1:\(port)/web"] {
                let result = try await runSDCTL(["resolve", target, "--timeout", "5s"], environment: env)
                #expect(result.status != 0)
                let bytes = Array(result.stderr.utf8)
                #expect(bytes.last == 0x0A && bytes.count(where: { $0 == 0x0A }) == 1, "\(result.stderr)")
                #expect(!bytes.dropLast().contains { $0 < 0x20 || $0 == 0x7F }, "C0 reached stderr: \(bytes)")
                let scalars = result.stderr.unicodeScalars.map(\.value)
                #expect(
                    !scalars.contains { (0x80...0x9F).contains($0) || (0x202A...0x202E).contains($0) },
                    "C1 or a bidi override reached stderr: \(result.stderr)")
                #expect(result.stderr.count < 1200, "\(result.stderr.count) characters")
            }
        }
    }

    @Test("a password in a target URL is never printed", arguments: ["etcd", "eureka", "consul", "zk"])
    func passwordsAreMasked(scheme: String) async throws {
        try await withSDCTLHome("sdctl-redaction") { _, env in
            let target = "\(scheme)://root:hunter2@127.0.0.1:1/services/web/apps/WEB"
            for arguments in [
                ["resolve", target], ["watch", "web", target, "-v"], ["deregister", target, "x"],
            ] {
                let result = try await runSDCTL(arguments, environment: env)
                #expect(result.status != 0)
                #expect(!result.stderr.contains("hunter2"), "\(arguments[0]): \(result.stderr)")
                #expect(!result.lines.joined().contains("hunter2"))
            }
        }
    }

    @Test("a state directory writable by others is refused: exit 77 with one line")
    func untrustedStateDirectory() async throws {
        try await withSDCTLHome("sdctl-untrusted") { home, env in
            #expect(chmod(home.path, 0o777) == 0)
            for arguments in [["resolve", "web"], ["register", "web", "127.0.0.1:1"], ["watch", "web"]] {
                let result = try await runSDCTL(arguments + ["--timeout", "5s"], environment: env)
                #expect(result.status == 77, "\(arguments[0]): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(result.stderr.contains("writable by group or others"), "\(result.stderr)")
            }
        }
    }

    @Test("exit 3 says so in one stderr line; the first watch event adds the initial set")
    func noInstancesLineAndFirstEvent() async throws {
        try await withSDCTLHome("sdctl-exit-3") { _, env in
            let empty = try await runSDCTL(["resolve", "nothing"], environment: env)
            #expect(empty.status == 3)
            #expect(empty.stderr == "sdctl: no instances in nothing\n")
            let json = try await runSDCTL(["resolve", "nothing", "-o", "json"], environment: env)
            #expect(json.status == 3)
            #expect(json.lines.count == 1)
            #expect(json.lines.first?.hasSuffix(#","stale":false,"instances":[]}"#) == true, "\(json.lines)")
            #expect(json.stderr.split(separator: "\n").count == 1)

            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:9001"], environment: env)
            defer { registrar.signal(SIGKILL) }
            try await registrar.line { !$0.isEmpty }
            let watch = try await runSDCTL(["watch", "web", "-o", "json", "--count", "1"], environment: env)
            #expect(watch.status == 0)
            let event = try #require(
                try JSONSerialization.jsonObject(with: Data(watch.lines[0].utf8)) as? [String: Any])
            let added = try #require(event["added"] as? [[String: Any]])
            let instances = try #require(event["instances"] as? [[String: Any]])
            #expect(added.map { $0["address"] as? String } == instances.map { $0["address"] as? String })
            #expect(added.count == 1)
            #expect((event["removed"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a server that does not speak HTTP, and one whose body is over 256 MiB: one line in words, exit 1")
    func notHTTPAndOversizedBody() async throws {
        let ports = try FreePorts.take(2)
        // The first port answers garbage; the second announces a 300 MiB JSON body, past what
        // an answer read element by element may be.
        let script = #"""
            import socket, sys, threading
            def serve(port, answer):
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port)); s.listen(16)
                while True:
                    c, _ = s.accept(); c.recv(65536)
                    try:
                        c.sendall(answer)
                    except OSError:
                        pass
                    c.close()
            big = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(300 << 20).encode() + b"\r\nX-Consul-Index: 1\r\n\r\n[" + b" " * (1 << 20)
            threading.Thread(target=serve, args=(int(sys.argv[1]), b"HELLO THERE\r\n\r\n"), daemon=True).start()
            serve(int(sys.argv[2]), big)
            """#
        let server = try RunningProcess(
            "/usr/bin/python3", ["-c", script, "\(ports[0])", "\(ports[1])"], environment: [:])
        defer { server.signal(SIGKILL) }
        for port in ports {
            try await eventually(.seconds(10), "the server to listen") {
                TCPConnections.canConnect(toPort: port)
            }
        }
        try await withSDCTLHome("sdctl-not-http") { _, env in
            for (port, words) in [(ports[0], "not HTTP"), (ports[1], "sent a reply over 256 MiB")] {
                for target in [
                    "consul://127.0.0.1:\(port)/web", "eureka://127.0.0.1:\(port)/eureka/apps/WEB",
                ] {
                    let result = try await runSDCTL(
                        ["resolve", target, "--timeout", "20s"], environment: env)
                    #expect(result.status == 1, "\(target): \(result.stderr)")
                    #expect(result.stderr.contains(words), "\(target): \(result.stderr)")
                    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                    #expect(!result.stderr.contains("Error(") && !result.stderr.contains("invalid constant"))
                }
            }
        }
    }

    @Test(
        "a server that accepts and never answers: watch --timeout and resolve exit 69 with one line",
        arguments: [
            "etcd://127.0.0.1:P/services/web/", "consul://127.0.0.1:P/web",
            "eureka://127.0.0.1:P/eureka/apps/WEB", "zk://127.0.0.1:P/services/web",
        ]
    )
    func silentServer(target pattern: String) async throws {
        let listener = try TCPListener()  // the kernel accepts; nobody reads or answers
        defer { listener.close() }
        let target = pattern.replacingOccurrences(of: ":P/", with: ":\(listener.port)/")
        try await withSDCTLHome("sdctl-silent") { _, env in
            for command in [["watch", target, "--timeout", "3s"], ["resolve", target, "--timeout", "3s"]] {
                let started = ContinuousClock.now
                let result = try await runSDCTL(command, environment: env)
                #expect(result.status == 69, "\(command): \(result.status) \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(command): \(result.stderr)")
                #expect(result.lines.isEmpty, "\(command): \(result.lines)")
                #expect(ContinuousClock.now - started < .seconds(20))
            }
        }
    }

    /// Answers a hostile or broken server gives, each served to `resolve` on consul:// and
    /// eureka://, with what sdctl does about it (docs/consul.md, docs/eureka.md).
    static let hostileAnswers:
        [(name: String, response: String, consul: (Int32, String), eureka: (Int32, String))] = [
            // 100,000 nested arrays: JSON's nesting limit, not a stack overflow; Eureka wants
            // an object at the top.
            (
                "deep JSON", "200|application/json|" + String(repeating: "[", count: 100_000),
                (1, "undecodable answer (nested deeper than 512 levels)"),
                (1, "undecodable answer (wrong type at the top)")
            ),
            ("a redirect", "302|text/plain|", (1, "302"), (1, "302")),
            (
                "wrong types", #"200|application/json|{"application": 5, "Node": []}"#,
                (1, "undecodable answer"), (1, "undecodable answer")
            ),
            // Read to the end of the stream; Consul's list is empty, Eureka wants an object.
            (
                "an HTTP/1.0 body ended by close, an index that is not a number", "close|application/json|[]",
                (3, "no instances"), (1, "wrong type at the top")
            ),
        ]

    @Test(
        "hostile answers from an HTTP backend: each one line in words, a documented exit code",
        arguments: 0..<4)
    func hostileHTTPAnswers(index: Int) async throws {
        let answer = Self.hostileAnswers[index]
        let port = try FreePorts.take(1)[0]
        let script = #"""
            import socket, sys
            status, kind, body = sys.argv[2].split("|", 2)
            body = body.encode()
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
            while True:
                c, _ = s.accept(); c.recv(65536)
                if status == "close":
                    head = b"HTTP/1.0 200 OK\r\nContent-Type: " + kind.encode() + b"\r\nX-Consul-Index: x\r\n\r\n"
                else:
                    head = (b"HTTP/1.1 " + status.encode() + b" X\r\nContent-Type: " + kind.encode()
                            + b"\r\nLocation: http://192.0.2.1/\r\nX-Consul-Index: not-a-number\r\nContent-Length: "
                            + str(len(body)).encode() + b"\r\n\r\n")
                c.sendall(head + body)
                c.close()
            """#
        let server = try RunningProcess(
            "/usr/bin/python3", ["-c", script, "\(port)", answer.response], environment: [:])
        defer { server.signal(SIGKILL) }
        try await eventually(.seconds(10), "the server to listen") { TCPConnections.canConnect(toPort: port) }
        try await withSDCTLHome("sdctl-hostile-answers") { _, env in
            for (target, expected) in [
                ("consul://127.0.0.1:\(port)/web", answer.consul),
                ("eureka://127.0.0.1:\(port)/eureka/apps/WEB", answer.eureka),
            ] {
                let result = try await runSDCTL(["resolve", target, "--timeout", "10s"], environment: env)
                #expect(result.status == expected.0, "\(answer.name), \(target): \(result.stderr)")
                #expect(result.stderr.contains(expected.1), "\(answer.name), \(target): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(answer.name): \(result.stderr)")
            }
        }
    }
}
