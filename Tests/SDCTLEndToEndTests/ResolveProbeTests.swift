import Foundation
import TestSupport
import Testing

/// `resolve --probe`: which of the instances discovery lists answer.
@Suite("sdctl resolve --probe")
struct ResolveProbeTests {
    @Test("tcp: one open and one closed port; exit 0 while any answers, 5 when none does")
    func tcp() async throws {
        try await withSDCTLHome("sdctl-probe") { home, env in
            // Below the ephemeral range: no other test's listener or outgoing connection takes it once closed.
            let listener = try TCPListener(port: FreePorts.take(1)[0])
            let closed = try FreePorts.take(1)[0]
            var registrars: [RunningProcess] = []
            for port in [listener.port, closed] {
                let registrar = try RunningProcess(
                    RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(port)", "--id", "p\(port)"],
                    environment: env)
                try await registrar.line { !$0.isEmpty }
                registrars.append(registrar)
            }
            let text = try await runSDCTL(["resolve", "web", "--probe", "tcp"], environment: env)
            #expect(text.status == 0, "\(text.stderr)")
            let open = try #require(text.lines.first { $0.hasPrefix("127.0.0.1:\(listener.port) ") })
            #expect(open.contains(" reachable ") && open.hasSuffix(" ms"), "\(open)")
            let refused = try #require(text.lines.first { $0.hasPrefix("127.0.0.1:\(closed) ") })
            #expect(
                refused.contains(" unreachable ") && refused.hasSuffix("Connection refused"), "\(refused)")

            let json = try await runSDCTL(
                ["resolve", "web", "--probe", "tcp", "-o", "json"], environment: env)
            let array = try #require(
                try JSONSerialization.jsonObject(with: Data(json.lines.joined().utf8)) as? [[String: Any]])
            let probes = Dictionary(
                uniqueKeysWithValues: array.map { ($0["address"] as! String, $0["probe"] as! [String: Any]) })
            #expect(probes["127.0.0.1:\(listener.port)"]?["reachable"] as? Bool == true)
            #expect((probes["127.0.0.1:\(listener.port)"]?["latency_ms"] as? Double ?? -1) >= 0)
            #expect(probes["127.0.0.1:\(closed)"]?["reachable"] as? Bool == false)
            #expect(probes["127.0.0.1:\(closed)"]?["error"] as? String == "Connection refused")

            listener.close()
            let none = try await runSDCTL(["resolve", "web", "--probe", "tcp"], environment: env)
            #expect(none.status == 5)
            #expect(none.lines.count == 2)
            for registrar in registrars { registrar.signal(SIGTERM) }
            for registrar in registrars { #expect(try await registrar.wait() == 0) }
        }
    }

    @Test("http: 2xx is reachable, 404 is not; a path goes in the request")
    func http() async throws {
        try await withSDCTLHome("sdctl-probe-http") { home, env in
            try "ok\n".write(toFile: "\(home.path)/healthz", atomically: true, encoding: .utf8)
            let port = try FreePorts.take(1)[0]
            let server = try RunningProcess(
                "/usr/bin/python3",
                ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", home.path],
                environment: [:])
            defer { server.signal(SIGKILL) }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(port)"], environment: env)
            try await registrar.line { !$0.isEmpty }
            try await eventually(.seconds(10), "python's http.server to listen") {
                TCPConnections.canConnect(toPort: port)
            }
            let healthy = try await runSDCTL(
                ["resolve", "web", "--probe", "http:/healthz"], environment: env)
            #expect(healthy.status == 0)
            #expect(healthy.lines.count == 1 && healthy.lines[0].hasSuffix("HTTP 200"), "\(healthy.lines)")
            let missing = try await runSDCTL(
                ["resolve", "web", "--probe", "http:/missing"], environment: env)
            #expect(missing.status == 5)
            #expect(missing.lines.count == 1 && missing.lines[0].hasSuffix("HTTP 404"), "\(missing.lines)")
            let usage = try await runSDCTL(["resolve", "web", "--probe", "udp"], environment: env)
            #expect(usage.status == 2)
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }
}
